/**
 * @module load-once
 * Code loaded on first use (a front end with its first client, a connector type with its first
 * connector): one load at a time, its result kept, and a failed load forgotten so that the next
 * use tries again (a file missing from an install that is then repaired, a transient error).
 *
 * @example
 * const frontEnd = new LoadOnce(() => import('./open.js').then((m) => m.open()), (err) => log(err));
 * const open = await frontEnd.get();
 * await (await frontEnd.started?.catch(() => undefined))?.close();
 */
export class LoadOnce<T> {
  #loading: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** The loaded value, loading it now if no load is under way or done. */
  get(): Promise<T> {
    if (this.#loading === undefined) {
      const attempt = this.load();
      this.#loading = attempt;
      attempt.catch((error: unknown) => {
        if (this.#loading === attempt) this.#loading = undefined;
        this.onError(error);
      });
    }
    return this.#loading;
  }

  /** The load under way or done; undefined before the first `get` (or after a failed load). */
  get started(): Promise<T> | undefined {
    return this.#loading;
  }
}
