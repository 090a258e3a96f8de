/**
 * @module protocol/kafka/requests/list-offsets
 * ListOffsets (key 2), v1–v3. kafka-python sends v1, kcat v2, kafkajs v3.
 */

import { defineApi } from '../api.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from './types.js';
import { listOffsetsV1 } from './v1.js';
import { listOffsetsV2 } from './v2.js';
import { listOffsetsV3 } from './v3.js';

export type * from './types.js';

export const listOffsetsApi = defineApi<ListOffsetsRequest, ListOffsetsResponse>({
  apiKey: 2,
  name: 'ListOffsets',
  versions: [listOffsetsV1, listOffsetsV2, listOffsetsV3],
});
