/**
 * @module protocol/kafka/requests/add-offsets-to-txn
 * AddOffsetsToTxn (key 25), v0–v3 (v3 flexible).
 */

import { defineApi } from '../api.js';
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from './types.js';
import { addOffsetsToTxnV0 } from './v0.js';
import { addOffsetsToTxnV1 } from './v1.js';
import { addOffsetsToTxnV2 } from './v2.js';
import { addOffsetsToTxnV3 } from './v3.js';

export type * from './types.js';

export const addOffsetsToTxnApi = defineApi<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
  apiKey: 25,
  name: 'AddOffsetsToTxn',
  versions: [addOffsetsToTxnV0, addOffsetsToTxnV1, addOffsetsToTxnV2, addOffsetsToTxnV3],
});
