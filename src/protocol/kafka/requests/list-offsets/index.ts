/**
 * @module protocol/kafka/requests/list-offsets
 * ListOffsets (key 2), v1–v9 (v6+ flexible; v7–v9 add special timestamps, not fields).
 * kafka-python sends v1, kcat v2, kafkajs v3, @platformatic/kafka its newest up to v9.
 */

import { defineApi } from '../api.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from './types.js';
import { listOffsetsV1 } from './v1.js';
import { listOffsetsV2 } from './v2.js';
import { listOffsetsV3 } from './v3.js';
import {
  listOffsetsV4,
  listOffsetsV5,
  listOffsetsV6,
  listOffsetsV7,
  listOffsetsV8,
  listOffsetsV9,
} from './v4-v6.js';

export type * from './types.js';

export const listOffsetsApi = defineApi<ListOffsetsRequest, ListOffsetsResponse>({
  apiKey: 2,
  name: 'ListOffsets',
  versions: [
    listOffsetsV1,
    listOffsetsV2,
    listOffsetsV3,
    listOffsetsV4,
    listOffsetsV5,
    listOffsetsV6,
    listOffsetsV7,
    listOffsetsV8,
    listOffsetsV9,
  ],
});
