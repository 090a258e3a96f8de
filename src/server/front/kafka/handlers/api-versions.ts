/**
 * @module server/front/kafka/handlers/api-versions
 * ApiVersions (18) v0–v4: the advertised table, from the codec registry, so what is advertised
 * is exactly what can be decoded. A version beyond v4 is answered before decoding, by the
 * connection, with the v0-format UNSUPPORTED_VERSION answer (KIP-511).
 */
import { apiVersionsResponse } from '../../../../protocol/kafka/requests/index.js';
import type { Handler } from './types.js';

export const handleApiVersions: Handler<'ApiVersions'> = () => apiVersionsResponse();
