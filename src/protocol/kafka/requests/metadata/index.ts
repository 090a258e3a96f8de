/**
 * @module protocol/kafka/requests/metadata
 * Metadata (key 3), v0–v12 (v9+ flexible). kafka-python sends v0 (probe) and v1, its admin
 * client v5; kcat v4; kafkajs v6; @platformatic/kafka v12.
 */

import { defineApi } from '../api.js';
import type { MetadataRequest, MetadataResponse } from './types.js';
import { metadataV0 } from './v0.js';
import { metadataV1 } from './v1.js';
import { metadataV2 } from './v2.js';
import { metadataV3 } from './v3.js';
import { metadataV4 } from './v4.js';
import { metadataV5 } from './v5.js';
import { metadataV6 } from './v6.js';
import { metadataV7, metadataV8, metadataV9, metadataV10, metadataV11, metadataV12 } from './v7-v12.js';

export type * from './types.js';

export const metadataApi = defineApi<MetadataRequest, MetadataResponse>({
  apiKey: 3,
  name: 'Metadata',
  versions: [
    metadataV0,
    metadataV1,
    metadataV2,
    metadataV3,
    metadataV4,
    metadataV5,
    metadataV6,
    metadataV7,
    metadataV8,
    metadataV9,
    metadataV10,
    metadataV11,
    metadataV12,
  ],
});
