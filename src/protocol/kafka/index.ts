/**
 * @module protocol/kafka
 * Kafka wire protocol, broker side and client side: framing, headers, the body codecs of every
 * API version Tributary speaks and the registry ApiVersions is answered from. Browser-safe.
 *
 * @example
 * const frames = new KafkaFrameDecoder();
 * for (const payload of frames.push(chunk)) {
 *   const request = decodeRequest(payload);
 *   if (request.api === 'Heartbeat') {
 *     send(encodeResponse('Heartbeat', request.header, { throttleTimeMs: 0, errorCode: 0 }));
 *   }
 * }
 */

export * from './error-codes.js';
export * from './frame.js';
export * from './request-header.js';
export * from './requests/index.js';
