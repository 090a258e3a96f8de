/**
 * @module server/front/socketio/namespaces
 * Which topic a Socket.IO namespace reads and appends to: the namespace `/` is the topic
 * `socket.io`, and `/<name>` is `socket.io.<name>`, where `<name>` is one level of letters,
 * digits, `.`, `_` and `-` (what a topic name may hold). Any other namespace (`/a/b`, `/ü`) is
 * refused at connect with `INVALID_TOPIC_NAME` (docs/socket.io.md, "The endpoint").
 *
 * @example
 * namespaceTopic('/');     // 'socket.io'
 * namespaceTopic('/chat'); // 'socket.io.chat'
 */
import { userTopic } from '../../../broker/internal-topics.js';
import { TributaryError } from '../../../errors.js';

/** The topic of the namespace `/`, and the prefix of every other namespace's topic. */
export const SOCKET_IO_TOPIC = 'socket.io';

const NAMESPACE_NAME = /^[A-Za-z0-9._-]+$/;

/** The topic of namespace `nsp` (`/`, `/chat`); `INVALID_TOPIC_NAME` for a namespace without one. */
export function namespaceTopic(nsp: string): string {
  if (nsp === '/') return SOCKET_IO_TOPIC;
  const name = nsp.startsWith('/') ? nsp.slice(1) : nsp;
  if (!NAMESPACE_NAME.test(name)) {
    throw new TributaryError('INVALID_TOPIC_NAME', {
      topic: `${SOCKET_IO_TOPIC}.${name}`,
      reason: `namespace "${nsp}" is not one level of letters, digits, ".", "_" and "-"`,
    });
  }
  return userTopic(`${SOCKET_IO_TOPIC}.${name}`);
}
