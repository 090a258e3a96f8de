/**
 * @module protocol/kafka/requests/metadata/v4
 * v4 adds allow_auto_topic_creation to the request; the response is v3's.
 * ```
 * Metadata Request (Version: 4) => [topics] allow_auto_topic_creation
 *   topics => name                      (nullable array)
 *     name => STRING
 *   allow_auto_topic_creation => BOOLEAN
 *
 * Metadata Response (Version: 4) => (as Version: 3)
 * ```
 */

import { boolean, nullableArray, struct } from '../../schema.js';
import { apiVersion } from '../api.js';
import type { MetadataRequest } from './types.js';
import { requestTopicV0 } from './v0.js';
import { responseV3 } from './v3.js';

export const requestV4 = struct<MetadataRequest>({
  topics: nullableArray(requestTopicV0),
  allowAutoTopicCreation: boolean,
});

export const responseV4 = responseV3;

export const metadataV4 = apiVersion(4, requestV4, responseV4);
