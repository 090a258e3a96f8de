/**
 * @module server/front/socketio/namespaces
 * Where a Socket.IO namespace lives: every namespace is in the topic `socket.io` (the
 * `tributary-sync/socket.io` adapter's default broadcast topic), keyed by its name, so a namespace's
 * events are in one partition, in one order (docs/socket.io.md, "The endpoint"). A namespace
 * name is `/` or `/` and up to {@link NAMESPACE_LENGTH_MAX} characters without control
 * characters; others get Socket.IO's own refusal ("Invalid namespace").
 *
 * @example
 * namespacePartition('/chat', 1); // 0
 */
import { kafkaPartition } from '../../../protocol/kafka/primitives/murmur2.js';

/** The topic of every namespace. */
export const SOCKET_IO_TOPIC = 'socket.io';
/** Longest namespace name, in UTF-16 code units. */
export const NAMESPACE_LENGTH_MAX = 256;

const encoder = new TextEncoder();

/** Whether `name` is a namespace the endpoint serves. */
export function isNamespaceName(name: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  return name.startsWith('/') && name.length <= NAMESPACE_LENGTH_MAX && !/[\u0000-\u001f\u007f]/.test(name);
}

/** The partition of the namespace's records (murmur2 of its name, as the broker places keyed records). */
export function namespacePartition(nsp: string, partitions: number): number {
  return kafkaPartition(encoder.encode(nsp), partitions);
}
