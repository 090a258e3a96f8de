/**
 * @module protocol/native
 * The native WebSocket protocol (version 1): frame types, encoders and decoders, limits.
 * Browser-safe. The normative description is `docs/protocol.md`.
 *
 * @example
 * import { decodeClientFrame, encodeFrame } from './protocol/native/index.js';
 * const bytes = encodeFrame({ type: 'hello', protocol: 1, client: 'demo/1.0' }, 'msgpack');
 * decodeClientFrame(bytes).frame; // { type: 'hello', protocol: 1, client: 'demo/1.0' }
 */
export { decodeBase64, encodeBase64 } from './base64.js';
export {
  type Decoded,
  decodeClientFrame,
  decodeServerFrame,
  encodeFrame,
  fromWireError,
  toWireError,
} from './frames.js';
export { NATIVE_PROTOCOL_LIMITS, PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from './limits.js';
export { decodeResult, isRequestType, REQUEST_TYPES } from './requests.js';
export * from './types.js';
export { wireByteLength } from './wire.js';
