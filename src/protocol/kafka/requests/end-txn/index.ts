/**
 * @module protocol/kafka/requests/end-txn
 * EndTxn (key 26), v0–v3 (v3 flexible).
 */

import { defineApi } from '../api.js';
import type { EndTxnRequest, EndTxnResponse } from './types.js';
import { endTxnV0 } from './v0.js';
import { endTxnV1 } from './v1.js';
import { endTxnV2 } from './v2.js';
import { endTxnV3 } from './v3.js';

export type * from './types.js';

export const endTxnApi = defineApi<EndTxnRequest, EndTxnResponse>({
  apiKey: 26,
  name: 'EndTxn',
  versions: [endTxnV0, endTxnV1, endTxnV2, endTxnV3],
});
