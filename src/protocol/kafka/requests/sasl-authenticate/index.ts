/**
 * @module protocol/kafka/requests/sasl-authenticate
 * SaslAuthenticate (key 36), v0–v2. kcat and kafkajs send v1, the Java client v2.
 */

import { defineApi } from '../api.js';
import type { SaslAuthenticateRequest, SaslAuthenticateResponse } from './types.js';
import { saslAuthenticateV0 } from './v0.js';
import { saslAuthenticateV1 } from './v1.js';
import { saslAuthenticateV2 } from './v2.js';

export type * from './types.js';

export const saslAuthenticateApi = defineApi<SaslAuthenticateRequest, SaslAuthenticateResponse>({
  apiKey: 36,
  name: 'SaslAuthenticate',
  versions: [saslAuthenticateV0, saslAuthenticateV1, saslAuthenticateV2],
});
