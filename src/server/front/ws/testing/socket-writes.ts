import type { Duplex } from 'node:stream';

/**
 * Counts the writes (`write` or `writev`) the given sockets hand to the kernel from now on, by
 * wrapping each socket's own `_write` and `_writev`: how many system calls a change costs, which
 * the bytes received cannot tell. Returns a function reading the count.
 */
export function countSocketWrites(sockets: readonly Duplex[]): () => number {
  let writes = 0;
  for (const socket of sockets) {
    const handle = socket as unknown as {
      _writev: (...args: unknown[]) => void;
      _write: (...args: unknown[]) => void;
    };
    const writev = handle._writev.bind(socket);
    const write = handle._write.bind(socket);
    handle._writev = (...args) => {
      writes++;
      writev(...args);
    };
    handle._write = (...args) => {
      writes++;
      write(...args);
    };
  }
  return () => writes;
}
