/**
 * @module server/front/ws/lazy-upgrade
 * What the front ends served by WebSocket upgrade (`/v1/ws`, `/mqtt`, `/socket.io/`) share to
 * load their code with their first client instead of at start: the `ws` package, and a guard for
 * the upgraded socket while that code loads.
 */
import type { Duplex } from 'node:stream';
import { LoadOnce } from '../../../load-once.js';

const wsPackage = new LoadOnce(() => import('ws'));

/** The `ws` package, imported once; a failed import is tried again by the next call. */
export function loadWs(): Promise<typeof import('ws')> {
  return wsPackage.get();
}

/**
 * Destroys `socket` on an error until the returned function is called. Node's HTTP server
 * removes its own error listener before it emits `upgrade`: a client resetting the connection
 * while its front end loads would otherwise be an unhandled `error` event, and end the process.
 */
export function guardUpgradedSocket(socket: Duplex): () => void {
  const onError = (): void => {
    socket.destroy();
  };
  socket.on('error', onError);
  return () => socket.off('error', onError);
}
