/**
 * @module protocol/kafka/requests/api-versions
 * ApiVersions (key 18): v0–v3 implemented, v0–v2 advertised. librdkafka opens with v3; the
 * broker answers it with the v0 body and UNSUPPORTED_VERSION (see `apiVersionsFallbackResponse`
 * in `requests/index.ts`), and the client retries with a version from the advertised range.
 */

import { defineApi } from '../api.js';
import type { ApiVersionsRequest, ApiVersionsResponse } from './types.js';
import { apiVersionsV0 } from './v0.js';
import { apiVersionsV1 } from './v1.js';
import { apiVersionsV2 } from './v2.js';
import { apiVersionsV3 } from './v3.js';

export type * from './types.js';

export const apiVersionsApi = defineApi<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: 18,
  name: 'ApiVersions',
  versions: [apiVersionsV0, apiVersionsV1, apiVersionsV2, apiVersionsV3],
  maxAdvertisedVersion: 2,
});
