/**
 * @module protocol/kafka/requests/sasl-handshake
 * SaslHandshake (key 17), v0–v1. kafka-python 2.0.2 sends v0 (raw tokens after it), kcat and
 * kafkajs v1 (SaslAuthenticate after it).
 */

import { defineApi } from '../api.js';
import type { SaslHandshakeRequest, SaslHandshakeResponse } from './types.js';
import { saslHandshakeV0 } from './v0.js';
import { saslHandshakeV1 } from './v1.js';

export type * from './types.js';

export const saslHandshakeApi = defineApi<SaslHandshakeRequest, SaslHandshakeResponse>({
  apiKey: 17,
  name: 'SaslHandshake',
  versions: [saslHandshakeV0, saslHandshakeV1],
});
