/**
 * @module server/auth/quotas
 * Quotas per principal (docs/security.md, "Quotas"): produce and fetch bytes per second, and
 * open connections. They come from the auth file's `quotas` object:
 *
 * ```json
 * "quotas": {
 *   "*":      { "produceBytesPerSec": 1048576, "fetchBytesPerSec": 4194304, "connections": 50 },
 *   "ingest": { "produceBytesPerSec": 16777216 },
 *   "anonymous": { "fetchBytesPerSec": 65536, "connections": 100 }
 * }
 * ```
 *
 * The most specific entry wins, whole: the principal's own entry, else `*` (which also covers
 * `anonymous`: a limit is the safe side to err on). A limit an entry does not name is unlimited
 * for the principals that entry covers, so `"admin": {}` exempts `admin` from `*`.
 *
 * Byte rates are shared by every connection of a principal over every protocol, and are never
 * enforced by refusing or dropping anything: a principal over its rate is throttled, as Kafka
 * does. Each rate is a token bucket: the principal may run at most `burstMs` (one second) of its
 * rate ahead, and what it takes beyond is a debt; the throttle time is how long the debt takes to
 * repay at the rate, i.e. how long until the principal is back under its rate. Front ends hold
 * the principal's next requests (or deliveries) back for that long, so its throughput converges
 * to the rate whatever it sends, and a principal under its rate never waits.
 *
 * Connections (WebSocket connections, SSE streams, Kafka connections; not single HTTP requests)
 * are counted per principal across protocols; one past the limit is refused with
 * `QUOTA_EXCEEDED`. A reload applies new rates to live connections at once; a lower connection
 * limit applies to new connections (open ones are not closed).
 *
 * With security off there is no auth file, no `Quotas` object, and nothing on the hot path.
 *
 * @example
 * const quotas = new Quotas(parseQuotas(file.quotas, 'quotas'));
 * const lease = quotas.connect('alice');        // throws QUOTA_EXCEEDED past `connections`
 * const waitMs = lease.recordProduce(64 * 1024); // 0, or how long alice must wait
 * lease.release();                              // the connection closed
 */
import { TributaryError } from '../../errors.js';
import type { ServerMetrics } from '../metrics.js';
import { describeValue, isJsonObject, jsonPath } from './json-path.js';
import { principalNameShapeProblem } from './principal-name.js';

/** A throttle is never longer than this; a larger debt throttles the next request again. */
export const THROTTLE_MS_MAX = 10_000;
/** How far ahead of its rate a principal may run, in ms of that rate (a token bucket's depth). */
export const QUOTA_BURST_MS = 1_000;
/** Largest rate or connection count an entry may name. */
const QUOTA_VALUE_MAX = Number.MAX_SAFE_INTEGER;
/** The key of the entry that covers every principal without one of its own. */
export const QUOTA_DEFAULT_KEY = '*';
/** Accounts kept before idle ones (no connection, no debt) are forgotten. */
const ACCOUNTS_SWEEP_AT = 1024;

/** One entry of the `quotas` object; `undefined`: unlimited. */
export interface QuotaLimits {
  readonly produceBytesPerSec: number | undefined;
  readonly fetchBytesPerSec: number | undefined;
  readonly connections: number | undefined;
}

/** The `quotas` object, checked: entries by principal name (`*` for the default entry). */
export interface QuotaConfig {
  readonly entries: ReadonlyMap<string, QuotaLimits>;
}

/** No entries: nobody is limited. */
export const NO_QUOTAS: QuotaConfig = Object.freeze({ entries: new Map<string, QuotaLimits>() });

const UNLIMITED: QuotaLimits = Object.freeze({
  produceBytesPerSec: undefined,
  fetchBytesPerSec: undefined,
  connections: undefined,
});

const ENTRY_KEYS = ['produceBytesPerSec', 'fetchBytesPerSec', 'connections'] as const;

export interface QuotaProblem {
  /** Where in the auth file: `quotas.alice.connections`. */
  readonly path: string;
  readonly message: string;
}

/** The `quotas` object cannot be used; `problems` lists every mistake with its path. */
export class QuotaConfigError extends Error {
  readonly problems: readonly QuotaProblem[];
  constructor(problems: readonly QuotaProblem[]) {
    super(`Invalid quotas: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    this.name = 'QuotaConfigError';
    this.problems = problems;
  }
}

/**
 * Checks the auth file's `quotas` value (`undefined`: no quotas); `path` is where it sits in
 * the file (`quotas`), for the messages. Throws {@link QuotaConfigError} listing every problem.
 */
export function parseQuotas(value: unknown, path: string): QuotaConfig {
  if (value === undefined) return NO_QUOTAS;
  const problems: QuotaProblem[] = [];
  if (!isJsonObject(value)) {
    throw new QuotaConfigError([
      { path, message: `must be an object of entries by principal, not ${describeValue(value)}` },
    ]);
  }
  const entries = new Map<string, QuotaLimits>();
  for (const [principal, entry] of Object.entries(value)) {
    const entryPath = jsonPath(path, principal);
    const nameProblem = principalNameShapeProblem(principal);
    if (nameProblem !== undefined) problems.push({ path: entryPath, message: nameProblem });
    if (!isJsonObject(entry)) {
      problems.push({ path: entryPath, message: `must be an object, not ${describeValue(entry)}` });
      continue;
    }
    for (const key of Object.keys(entry)) {
      if (!(ENTRY_KEYS as readonly string[]).includes(key)) {
        problems.push({
          path: jsonPath(entryPath, key),
          message: `unknown key (expected one of ${ENTRY_KEYS.join(', ')})`,
        });
      }
    }
    const limits: QuotaLimits = {
      produceBytesPerSec: checkLimit(
        problems,
        jsonPath(entryPath, 'produceBytesPerSec'),
        entry.produceBytesPerSec,
        1,
      ),
      fetchBytesPerSec: checkLimit(
        problems,
        jsonPath(entryPath, 'fetchBytesPerSec'),
        entry.fetchBytesPerSec,
        1,
      ),
      connections: checkLimit(problems, jsonPath(entryPath, 'connections'), entry.connections, 0),
    };
    if (nameProblem === undefined) entries.set(principal, Object.freeze(limits));
  }
  if (problems.length > 0) throw new QuotaConfigError(problems);
  return Object.freeze({ entries });
}

/** The entry that applies to `principal`: its own, else `*`, else none (unlimited). */
export function quotaLimitsOf(config: QuotaConfig, principal: string): QuotaLimits {
  return config.entries.get(principal) ?? config.entries.get(QUOTA_DEFAULT_KEY) ?? UNLIMITED;
}

function checkLimit(problems: QuotaProblem[], path: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > QUOTA_VALUE_MAX) {
    problems.push({
      path,
      message: `must be an integer from ${min} to ${QUOTA_VALUE_MAX}, not ${describeValue(value)}`,
    });
    return undefined;
  }
  return value;
}

// ---- accounting ------------------------------------------------------------------------------

/**
 * A byte rate as a token bucket `burstMs` of the rate deep, starting full. Taking more than the
 * bucket holds leaves a debt; the throttle is the time the rate takes to repay it.
 */
export class ByteRate {
  #rate: number | undefined;
  #burst = 0;
  #tokens = 0;
  #at: number;
  readonly #burstMs: number;

  constructor(bytesPerSec: number | undefined, burstMs: number, now: number) {
    this.#burstMs = burstMs;
    this.#at = now;
    this.setRate(bytesPerSec, now);
  }

  get bytesPerSec(): number | undefined {
    return this.#rate;
  }

  /** A reload: the debt (or what is left of the burst) carries over, capped by the new depth. */
  setRate(bytesPerSec: number | undefined, now: number): void {
    if (bytesPerSec === this.#rate) return;
    const wasLimited = this.#rate !== undefined;
    if (wasLimited) this.#refill(now);
    this.#rate = bytesPerSec;
    this.#at = now;
    if (bytesPerSec === undefined) {
      this.#tokens = 0;
      this.#burst = 0;
      return;
    }
    this.#burst = Math.max(1, (bytesPerSec * this.#burstMs) / 1000);
    this.#tokens = wasLimited ? Math.min(this.#tokens, this.#burst) : this.#burst;
  }

  /** Takes `bytes`; returns how long to wait before taking more (0: under the rate). */
  record(bytes: number, now: number): number {
    if (this.#rate === undefined) return 0;
    this.#refill(now);
    this.#tokens -= bytes;
    return this.#throttle();
  }

  /** How long until the rate is repaid (0: bytes may be taken now). */
  throttleMs(now: number): number {
    if (this.#rate === undefined) return 0;
    this.#refill(now);
    return this.#throttle();
  }

  /** The most one request should take: a whole bucket (Infinity when unlimited). */
  get burstBytes(): number {
    return this.#rate === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(this.#burst));
  }

  /** True when forgetting this rate changes nothing: unlimited, or a full bucket. */
  idle(now: number): boolean {
    if (this.#rate === undefined) return true;
    this.#refill(now);
    return this.#tokens >= this.#burst;
  }

  #refill(now: number): void {
    const elapsed = now - this.#at;
    if (elapsed <= 0) return;
    this.#at = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * (this.#rate as number)) / 1000);
  }

  #throttle(): number {
    if (this.#tokens >= 0) return 0;
    return Math.min(THROTTLE_MS_MAX, Math.ceil((-this.#tokens * 1000) / (this.#rate as number)));
  }
}

/** One principal's usage, shared by all its connections over every protocol. */
export interface QuotaAccount {
  readonly principal: string;
  /** Counts produced bytes; returns how long the principal should wait (0: under its rate). */
  recordProduce(bytes: number): number;
  /** Counts fetched (delivered) bytes; returns how long the principal should wait. */
  recordFetch(bytes: number): number;
  /** How long until the principal is back under its produce rate (0: now). */
  produceThrottleMs(): number;
  /** How long until the principal is back under its fetch rate (0: now). */
  fetchThrottleMs(): number;
  /** The most one fetch should read: one burst of the fetch rate (Infinity: no fetch quota). */
  fetchBytesMax(): number;
}

/** An account held by one open connection; `release` when the connection closes. */
export interface QuotaLease extends QuotaAccount {
  /** Stops counting the connection; idempotent. */
  release(): void;
}

class Account implements QuotaAccount {
  connections = 0;
  limits: QuotaLimits;
  readonly produce: ByteRate;
  readonly fetch: ByteRate;

  constructor(
    readonly principal: string,
    limits: QuotaLimits,
    burstMs: number,
    private readonly now: () => number,
    private readonly metrics: QuotasOptions['metrics'],
  ) {
    this.limits = limits;
    const at = now();
    this.produce = new ByteRate(limits.produceBytesPerSec, burstMs, at);
    this.fetch = new ByteRate(limits.fetchBytesPerSec, burstMs, at);
  }

  apply(limits: QuotaLimits): void {
    this.limits = limits;
    const at = this.now();
    this.produce.setRate(limits.produceBytesPerSec, at);
    this.fetch.setRate(limits.fetchBytesPerSec, at);
  }

  recordProduce(bytes: number): number {
    return this.#counted('produce', this.produce.record(bytes, this.now()));
  }
  recordFetch(bytes: number): number {
    return this.#counted('fetch', this.fetch.record(bytes, this.now()));
  }
  produceThrottleMs(): number {
    return this.#counted('produce', this.produce.throttleMs(this.now()));
  }
  fetchThrottleMs(): number {
    return this.#counted('fetch', this.fetch.throttleMs(this.now()));
  }
  fetchBytesMax(): number {
    return this.fetch.burstBytes;
  }
  #counted(kind: 'produce' | 'fetch', throttleMs: number): number {
    if (throttleMs > 0) this.metrics?.quotaThrottled.inc({ kind });
    return throttleMs;
  }
  idle(): boolean {
    const at = this.now();
    return this.connections === 0 && this.produce.idle(at) && this.fetch.idle(at);
  }
}

class Lease implements QuotaLease {
  #released = false;
  constructor(
    private readonly account: Account,
    private readonly onRelease: (account: Account) => void,
  ) {}
  get principal(): string {
    return this.account.principal;
  }
  recordProduce(bytes: number): number {
    return this.account.recordProduce(bytes);
  }
  recordFetch(bytes: number): number {
    return this.account.recordFetch(bytes);
  }
  produceThrottleMs(): number {
    return this.account.produceThrottleMs();
  }
  fetchThrottleMs(): number {
    return this.account.fetchThrottleMs();
  }
  fetchBytesMax(): number {
    return this.account.fetchBytesMax();
  }
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.onRelease(this.account);
  }
}

export interface QuotasOptions {
  /** Default `Date.now`. */
  readonly now?: () => number;
  /** Counts throttles and refused connections (`tributary_quota_*`). */
  readonly metrics?: Pick<ServerMetrics, 'quotaThrottled' | 'quotaConnectionsRefused'> | undefined;
  /** Depth of every rate's bucket, in ms of the rate. Default {@link QUOTA_BURST_MS}. */
  readonly burstMs?: number;
}

/** The quotas in force and every principal's usage; one per server, reconfigured on reload. */
export class Quotas {
  #config: QuotaConfig;
  readonly #accounts = new Map<string, Account>();
  readonly #now: () => number;
  readonly #burstMs: number;
  readonly #metrics: QuotasOptions['metrics'];
  #sweepAt = ACCOUNTS_SWEEP_AT;

  constructor(config: QuotaConfig = NO_QUOTAS, options: QuotasOptions = {}) {
    this.#config = config;
    this.#now = options.now ?? Date.now;
    this.#burstMs = options.burstMs ?? QUOTA_BURST_MS;
    this.#metrics = options.metrics;
  }

  get config(): QuotaConfig {
    return this.#config;
  }

  /** A reload: new limits apply to every live account at once. */
  configure(config: QuotaConfig): void {
    this.#config = config;
    for (const account of this.#accounts.values()) account.apply(quotaLimitsOf(config, account.principal));
  }

  /** The principal's account, without counting a connection (one HTTP request). */
  account(principal: string): QuotaAccount {
    return this.#account(principal);
  }

  /**
   * Counts one more connection of `principal`; throws `QUOTA_EXCEEDED` when it already has as
   * many as its `connections` quota allows.
   */
  connect(principal: string): QuotaLease {
    const account = this.#account(principal);
    const limit = account.limits.connections;
    if (limit !== undefined && account.connections >= limit) {
      this.#metrics?.quotaConnectionsRefused.inc();
      throw new TributaryError('QUOTA_EXCEEDED', { principal, limit, what: 'connections' });
    }
    account.connections++;
    return new Lease(account, (released) => {
      released.connections--;
    });
  }

  /** Principals whose usage is kept (those idle are forgotten as more come). */
  get accountCount(): number {
    return this.#accounts.size;
  }

  /** Open connections of `principal` counted by {@link connect}. */
  connections(principal: string): number {
    return this.#accounts.get(principal)?.connections ?? 0;
  }

  #account(principal: string): Account {
    let account = this.#accounts.get(principal);
    if (account === undefined) {
      if (this.#accounts.size >= this.#sweepAt) this.#sweep();
      account = new Account(
        principal,
        quotaLimitsOf(this.#config, principal),
        this.#burstMs,
        this.#now,
        this.#metrics,
      );
      this.#accounts.set(principal, account);
    }
    return account;
  }

  /** Forgets accounts that hold nothing (no connection, no debt): tokens of many subjects come and go. */
  #sweep(): void {
    for (const [name, account] of this.#accounts) if (account.idle()) this.#accounts.delete(name);
    this.#sweepAt = Math.max(ACCOUNTS_SWEEP_AT, this.#accounts.size * 2);
  }
}
