/**
 * @module tributary/client
 * The browser-safe client entry. It imports nothing from Node, so bundlers can ship it to
 * browsers. For now it carries what clients and servers must agree on: the error type and the
 * key → partition function (Kafka's murmur2, so Kafka clients and Tributary clients agree).
 *
 * @example
 * import { kafkaPartition } from 'tributary/client';
 * const partition = kafkaPartition(new TextEncoder().encode('user-42'), 12);
 */
export { type ErrorCode, isTributaryError, TributaryError } from '../errors.js';
export { kafkaPartition, murmur2 } from '../protocol/kafka/primitives/murmur2.js';
