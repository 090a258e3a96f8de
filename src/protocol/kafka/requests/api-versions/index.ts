/**
 * @module protocol/kafka/requests/api-versions
 * ApiVersions (key 18), v0–v4; v3 is the first flexible version (librdkafka and
 * @platformatic/kafka open with it). A version beyond v4 is answered with the v0 body and
 * UNSUPPORTED_VERSION (see `apiVersionsFallbackResponse` in `requests/index.ts`), and the
 * client retries with a version from the advertised range.
 */

import { defineApi } from '../api.js';
import type { ApiVersionsRequest, ApiVersionsResponse } from './types.js';
import { apiVersionsV0 } from './v0.js';
import { apiVersionsV1 } from './v1.js';
import { apiVersionsV2 } from './v2.js';
import { apiVersionsV3 } from './v3.js';
import { apiVersionsV4 } from './v4.js';

export type * from './types.js';

export const apiVersionsApi = defineApi<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: 18,
  name: 'ApiVersions',
  versions: [apiVersionsV0, apiVersionsV1, apiVersionsV2, apiVersionsV3, apiVersionsV4],
});
