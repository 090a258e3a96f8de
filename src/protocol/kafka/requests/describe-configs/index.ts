/**
 * @module protocol/kafka/requests/describe-configs
 * DescribeConfigs (key 32), v0–v4 (v4 flexible).
 */

import { defineApi } from '../api.js';
import type { DescribeConfigsRequest, DescribeConfigsResponse } from './types.js';
import { describeConfigsVersions } from './versions.js';

export * from './types.js';

export const describeConfigsApi = defineApi<DescribeConfigsRequest, DescribeConfigsResponse>({
  apiKey: 32,
  name: 'DescribeConfigs',
  versions: describeConfigsVersions,
});
