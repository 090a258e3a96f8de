/**
 * @module protocol/kafka/requests/add-partitions-to-txn
 * AddPartitionsToTxn (key 24), v0–v3 (v3 flexible).
 */

import { defineApi } from '../api.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from './types.js';
import { addPartitionsToTxnV0 } from './v0.js';
import { addPartitionsToTxnV1 } from './v1.js';
import { addPartitionsToTxnV2 } from './v2.js';
import { addPartitionsToTxnV3 } from './v3.js';

export type * from './types.js';

export const addPartitionsToTxnApi = defineApi<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
  apiKey: 24,
  name: 'AddPartitionsToTxn',
  versions: [addPartitionsToTxnV0, addPartitionsToTxnV1, addPartitionsToTxnV2, addPartitionsToTxnV3],
});
