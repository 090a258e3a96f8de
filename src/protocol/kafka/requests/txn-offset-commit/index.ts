/**
 * @module protocol/kafka/requests/txn-offset-commit
 * TxnOffsetCommit (key 28), v0–v3 (v3 flexible).
 */

import { defineApi } from '../api.js';
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from './types.js';
import { txnOffsetCommitV0 } from './v0.js';
import { txnOffsetCommitV1 } from './v1.js';
import { txnOffsetCommitV2 } from './v2.js';
import { txnOffsetCommitV3 } from './v3.js';

export type * from './types.js';

export const txnOffsetCommitApi = defineApi<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
  apiKey: 28,
  name: 'TxnOffsetCommit',
  versions: [txnOffsetCommitV0, txnOffsetCommitV1, txnOffsetCommitV2, txnOffsetCommitV3],
});
