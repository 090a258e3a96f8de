/**
 * @module protocol/kafka/requests/offset-commit
 * OffsetCommit (key 8), v2–v9 (v8+ flexible). kafka-python sends v2, kafkajs v5, kcat v7,
 * @platformatic/kafka v9.
 */

import { defineApi } from '../api.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from './types.js';
import { offsetCommitV2 } from './v2.js';
import { offsetCommitV3 } from './v3.js';
import { offsetCommitV4 } from './v4.js';
import { offsetCommitV5 } from './v5.js';
import { offsetCommitV6 } from './v6.js';
import { offsetCommitV7 } from './v7.js';
import { offsetCommitV8, offsetCommitV9 } from './v8-v9.js';

export type * from './types.js';

export const offsetCommitApi = defineApi<OffsetCommitRequest, OffsetCommitResponse>({
  apiKey: 8,
  name: 'OffsetCommit',
  versions: [
    offsetCommitV2,
    offsetCommitV3,
    offsetCommitV4,
    offsetCommitV5,
    offsetCommitV6,
    offsetCommitV7,
    offsetCommitV8,
    offsetCommitV9,
  ],
});
