/**
 * @module server/front/kafka/handlers/api-versions
 * ApiVersions (18) v0–v2: the advertised table, from the codec registry, so what is advertised
 * is exactly what can be decoded. v3+ (librdkafka's opening probe) is answered before decoding,
 * by the connection, with the v0-format UNSUPPORTED_VERSION answer (KIP-511).
 */
import { apiVersionsResponse } from '../../../../protocol/kafka/requests/index.js';
import type { Handler } from './types.js';

export const handleApiVersions: Handler<'ApiVersions'> = () => apiVersionsResponse();
