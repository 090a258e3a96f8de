/**
 * @module server/auth/password-checks
 * Runs the server's scrypt password checks, bounded and remembered:
 *
 * - At most `inFlightMax` scrypt computations run at once, and at most `queuedMax` wait; beyond
 *   that a login is refused at once. scrypt runs on libuv's thread pool, which the file log's
 *   I/O shares: a flood of wrong passwords must not starve the log of threads.
 * - A password that verified is remembered for `cacheTtlMs`, keyed by the user, an HMAC of the
 *   password under a per-process random key, and the stored hash it matched. HTTP Basic sends
 *   the password on every request; without this each request would cost a full scrypt. A
 *   changed or removed password misses (the stored hash is part of the key), so revocation is
 *   unaffected. Failures are never remembered (each costs a full scrypt, which is the point).
 *
 * @example
 * const checks = new PasswordChecks();
 * await checks.verify('alice', user.password, 'wonderland'); // true | false | 'busy'
 */
import { createHmac, randomBytes } from 'node:crypto';
import { verifyPassword } from './passwords.js';

export interface PasswordChecksOptions {
  /** scrypt computations at once. Default 2 (libuv's pool has 4 threads by default). */
  readonly inFlightMax?: number;
  /** Checks waiting for a turn; more are refused as `busy`. Default 256. */
  readonly queuedMax?: number;
  /** How long a verified password is remembered. Default 5 minutes; 0 turns it off. */
  readonly cacheTtlMs?: number;
  /** Most remembered passwords. Default 4096. */
  readonly cacheEntriesMax?: number;
  /** Default `Date.now`. */
  readonly now?: () => number;
  /** The check itself. Default `verifyPassword` (scrypt); tests count calls. */
  readonly check?: (stored: string, password: string) => Promise<boolean>;
}

export class PasswordChecks {
  readonly #key = randomBytes(32);
  readonly #cache = new Map<string, number>();
  readonly #waiting: (() => void)[] = [];
  #running = 0;
  readonly #inFlightMax: number;
  readonly #queuedMax: number;
  readonly #ttlMs: number;
  readonly #entriesMax: number;
  readonly #now: () => number;
  readonly #check: (stored: string, password: string) => Promise<boolean>;

  constructor(options: PasswordChecksOptions = {}) {
    this.#inFlightMax = options.inFlightMax ?? 2;
    this.#queuedMax = options.queuedMax ?? 256;
    this.#ttlMs = options.cacheTtlMs ?? 5 * 60_000;
    this.#entriesMax = options.cacheEntriesMax ?? 4096;
    this.#now = options.now ?? Date.now;
    this.#check = options.check ?? verifyPassword;
  }

  /** Whether `password` matches `stored`; `busy` when too many checks are waiting already. */
  async verify(username: string, stored: string, password: string): Promise<boolean | 'busy'> {
    const key = `${username}\u0000${stored}\u0000${createHmac('sha256', this.#key).update(password).digest('base64')}`;
    const until = this.#cache.get(key);
    if (until !== undefined && until > this.#now()) return true;
    const ok = await this.run(() => this.#check(stored, password));
    if (ok === true && this.#ttlMs > 0) this.#remember(key);
    return ok;
  }

  /** Runs `work` when a slot is free; `busy` when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T | 'busy'> {
    if (this.#running >= this.#inFlightMax) {
      if (this.#waiting.length >= this.#queuedMax) return 'busy';
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, or is freed.
      const next = this.#waiting.shift();
      if (next === undefined) this.#running--;
      else next();
    }
  }

  #remember(key: string): void {
    if (this.#cache.size >= this.#entriesMax) {
      const now = this.#now();
      for (const [k, until] of this.#cache) if (until <= now) this.#cache.delete(k);
      // Still full: drop the oldest (Map keeps insertion order).
      while (this.#cache.size >= this.#entriesMax) {
        const oldest = this.#cache.keys().next().value;
        if (oldest === undefined) break;
        this.#cache.delete(oldest);
      }
    }
    this.#cache.delete(key);
    this.#cache.set(key, this.#now() + this.#ttlMs);
  }
}
