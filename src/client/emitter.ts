/**
 * @module client/emitter
 * A tiny typed event emitter (browsers have no `node:events`). A listener that throws does not
 * stop the others; the error is reported to `error` listeners when there are any.
 */

export type Listener<Args extends unknown[]> = (...args: Args) => void;

export class Emitter<Events extends { [name: string]: unknown[] }> {
  // biome-ignore lint/suspicious/noExplicitAny: listeners of different events share one map.
  readonly #listeners = new Map<keyof Events, Set<(...args: any[]) => void>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener);
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (error) {
        if (event !== 'error' && this.listenerCount('error') > 0) {
          (this as unknown as Emitter<{ error: [unknown] }>).emit('error', error);
        } else {
          // Never swallow silently: surface it asynchronously like an unhandled error.
          setTimeout(() => {
            throw error;
          });
        }
      }
    }
  }
}
