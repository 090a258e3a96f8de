/**
 * @module server/front/http/sse-streams
 * Every open Server-Sent Events stream of one HTTP front end, whatever it follows (a topic's
 * records, a collection's changes, event streams): `sseStreamsMax` counts them all together,
 * and shutdown ends them all.
 */
import { TributaryError } from '../../../errors.js';

export class SseStreams {
  /** Each open stream with what ends it on shutdown (its connection closed too). */
  readonly #open = new Map<object, () => void>();

  get size(): number {
    return this.#open.size;
  }

  /** Throws `RESOURCE_EXHAUSTED` when `limit` streams are already open. */
  checkRoom(limit: number): void {
    if (this.#open.size >= limit) {
      throw new TributaryError('RESOURCE_EXHAUSTED', {
        what: 'open event streams',
        limit: `sseStreamsMax = ${limit}`,
      });
    }
  }

  add(stream: object, endForShutdown: () => void): void {
    this.#open.set(stream, endForShutdown);
  }

  delete(stream: object): void {
    this.#open.delete(stream);
  }

  /**
   * Ends every stream and its connection (clients see the end and may reconnect elsewhere with
   * their last id); used on shutdown, where a kept-alive connection would delay the close.
   */
  closeAll(): void {
    for (const end of [...this.#open.values()]) end();
  }
}
