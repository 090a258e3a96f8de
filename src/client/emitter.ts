/**
 * @module client/emitter
 * A tiny typed event emitter (browsers have no `node:events`). A listener that throws does not
 * stop the others; the error is reported to `error` listeners when there are any.
 */

export type Listener<Args extends unknown[]> = (...args: Args) => void;

export class Emitter<Events extends { [name: string]: unknown[] }> {
  /**
   * Listeners per event, replaced (never changed) on `on`/`off`: `emit` iterates the array it
   * found, so listeners added or removed meanwhile do not disturb it, without a copy per emit.
   */
  // biome-ignore lint/suspicious/noExplicitAny: listeners of different events share one map.
  readonly #listeners = new Map<keyof Events, readonly ((...args: any[]) => void)[]>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const list = this.#listeners.get(event) ?? [];
    if (!list.includes(listener)) this.#listeners.set(event, [...list, listener]);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const list = this.#listeners.get(event);
    if (list === undefined || !list.includes(listener)) return;
    if (list.length === 1) this.#listeners.delete(event);
    else
      this.#listeners.set(
        event,
        list.filter((l) => l !== listener),
      );
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const list = this.#listeners.get(event);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(...args);
      } catch (error) {
        this.#report(event, error);
      }
    }
  }

  #report(event: keyof Events, error: unknown): void {
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
