/**
 * @module processing/close-times
 * The earliest end among a windowed step's open windows, kept per task's store: a step object
 * is shared by every task of the process, and each task's watermark closes its own windows.
 * In memory only, rebuilt by the step's `restored`.
 */
import type { StateStore } from './state.js';

export class CloseTimes {
  readonly #earliest = new WeakMap<StateStore, number>();

  /** The earliest open end of `store` (+∞: nothing open, or not known yet). */
  get(store: StateStore): number {
    return this.#earliest.get(store) ?? Number.POSITIVE_INFINITY;
  }

  /** A window ending at `end` is open in `store`. */
  lower(store: StateStore, end: number): void {
    if (end < this.get(store)) this.#earliest.set(store, end);
  }

  set(store: StateStore, end: number): void {
    this.#earliest.set(store, end);
  }
}
