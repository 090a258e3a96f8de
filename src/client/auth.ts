/**
 * @module client/auth
 * The SDK's credentials: what `connect({ auth })` takes, what goes into `hello` on every
 * (re)connect, and when a token is refreshed in band (`authenticate`) before it expires.
 *
 * A token's expiry is read from the JWT's `exp` claim without verifying anything (the server
 * verifies; the client only needs to know when to ask for a new one). The decoding is plain
 * base64url, so this module runs in browsers as it does in Node.
 *
 * Refresh time: at 80 % of the token's remaining lifetime or 30 s before it expires, whichever
 * comes first, measured from when the token was received (so a skewed client clock does not
 * matter much: only the token's own lifetime does). A token without `exp` is never refreshed.
 *
 * @example
 * const client = await connect({ url, auth: { token: () => fetchToken() } });
 */
import { TributaryError } from '../errors.js';
import type { WireAuth } from '../protocol/native/types.js';

/** Returns a fresh token (a JWT); called at connect, on every reconnect and before expiry. */
export type TokenProvider = () => Promise<string>;

/**
 * Credentials for `connect({ auth })`. One of:
 * - `{ token }`: a JWT, or a function that returns one (refreshed before it expires);
 * - `{ apiKey }`: never expires; for services, not for browsers;
 * - `{ username, password }`: for services and tools, not for browsers.
 */
export type ClientAuth =
  | { readonly token: string | TokenProvider }
  | { readonly apiKey: string }
  | { readonly username: string; readonly password: string };

/** Refresh at this share of a token's lifetime at the latest. */
export const REFRESH_LIFETIME_SHARE = 0.8;
/** …and at least this long before it expires. */
export const REFRESH_BEFORE_EXPIRY_MS = 30_000;
/** Never sooner than this after the token arrived (a token that is nearly expired already). */
export const REFRESH_DELAY_MIN_MS = 1_000;
/** After a failed refresh, try again after this long (while the old token is still valid). */
export const REFRESH_RETRY_MS = 5_000;

/** The timers the scheduler uses; tests inject a fake clock. */
export interface AuthClock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_CLOCK: AuthClock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Checks `auth` as `connect()` receives it; throws `INVALID_ARGUMENT`. */
export function checkClientAuth(auth: unknown): ClientAuth {
  const invalid = (reason: string): TributaryError =>
    new TributaryError('INVALID_ARGUMENT', { reason: `auth: ${reason}` });
  if (typeof auth !== 'object' || auth === null) throw invalid('expected an object');
  const fields = auth as Record<string, unknown>;
  const kinds = ['token', 'apiKey', 'username'].filter((name) => fields[name] !== undefined);
  if (kinds.length !== 1) throw invalid('give exactly one of token, apiKey or username and password');
  if (fields.token !== undefined) {
    if (typeof fields.token === 'function') return { token: fields.token as TokenProvider };
    if (typeof fields.token !== 'string' || fields.token === '')
      throw invalid('token must be a string or a function');
    return { token: fields.token };
  }
  if (fields.apiKey !== undefined) {
    if (typeof fields.apiKey !== 'string' || fields.apiKey === '')
      throw invalid('apiKey must be a non-empty string');
    return { apiKey: fields.apiKey };
  }
  if (typeof fields.username !== 'string' || fields.username === '' || typeof fields.password !== 'string') {
    throw invalid('username and password must be strings');
  }
  return { username: fields.username, password: fields.password };
}

/**
 * The `exp` claim of a JWT in ms since the epoch, or null when it has none or is not a JWT (an
 * opaque token or an API key given as a token). Nothing is verified.
 */
export function tokenExpiresAtMs(token: string): number | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const json = base64UrlToText(parts[1]!);
  if (json === null) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof payload !== 'object' || payload === null) return null;
  const exp = (payload as { exp?: unknown }).exp;
  return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : null;
}

/** When to refresh a token that expires at `expiresAtMs`, received at `nowMs`: a delay in ms. */
export function refreshDelayMs(expiresAtMs: number, nowMs: number): number {
  const lifetime = expiresAtMs - nowMs;
  const delay = Math.min(lifetime * REFRESH_LIFETIME_SHARE, lifetime - REFRESH_BEFORE_EXPIRY_MS);
  // setTimeout holds at most 2^31-1 ms (24.8 days); a longer-lived token is refreshed then.
  return Math.min(TIMER_MAX_MS, Math.max(REFRESH_DELAY_MIN_MS, Math.floor(delay)));
}

const TIMER_MAX_MS = 2_147_483_647;

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BASE64URL_VALUE = new Map([...BASE64URL].map((char, index) => [char, index]));
/** Longest JWT payload decoded (a token is a header value; servers refuse far smaller ones). */
const PAYLOAD_CHARS_MAX = 64 * 1024;

/** Decodes base64url (padding allowed) as UTF-8; null when it is not base64url. */
function base64UrlToText(text: string): string | null {
  const input = text.replace(/=+$/, '');
  if (input.length > PAYLOAD_CHARS_MAX || input.length % 4 === 1) return null;
  const bytes = new Uint8Array(Math.floor((input.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const char of input) {
    const digit = BASE64URL_VALUE.get(char);
    if (digit === undefined) return null;
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[at++] = (value >> bits) & 0xff;
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, at));
  } catch {
    return null;
  }
}

/**
 * Holds a connection's credential: gives the `auth` of each `hello` (calling a token provider
 * again every time) and, for tokens with an `exp`, calls `onRefreshDue` when it is time to
 * refresh in band.
 */
export class ClientCredentials {
  readonly #auth: ClientAuth;
  readonly #clock: AuthClock;
  #timer: unknown;
  #onRefreshDue: (() => void) | undefined;
  /** The token last obtained (what the server holds once it accepted it). */
  #token: string | undefined;

  constructor(auth: ClientAuth, clock: AuthClock = SYSTEM_CLOCK) {
    this.#auth = auth;
    this.#clock = clock;
  }

  /** True when the credential is a token: it can expire and be refreshed. */
  get isToken(): boolean {
    return 'token' in this.#auth;
  }

  /** True when a new token can be had (a provider, not a fixed string). */
  get canRefresh(): boolean {
    return 'token' in this.#auth && typeof this.#auth.token === 'function';
  }

  /** The `auth` of the next `hello`: a provider is asked for a fresh token. */
  async helloAuth(): Promise<WireAuth> {
    const auth = this.#auth;
    if ('apiKey' in auth) return { apiKey: auth.apiKey };
    if ('username' in auth) return { username: auth.username, password: auth.password };
    return { token: await this.nextToken() };
  }

  /** A token for `hello` or `authenticate`: the provider's answer, or the fixed token. */
  async nextToken(): Promise<string> {
    const auth = this.#auth;
    if (!('token' in auth)) throw new TributaryError('INVALID_ARGUMENT', { reason: 'auth: not a token' });
    const token = typeof auth.token === 'function' ? await auth.token() : auth.token;
    if (typeof token !== 'string' || token === '') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'auth: the token provider returned no token' });
    }
    this.#token = token;
    return token;
  }

  /** The server accepted the last token: schedule its refresh (nothing for fixed credentials). */
  accepted(onRefreshDue: () => void): void {
    this.cancel();
    if (!this.canRefresh || this.#token === undefined) return;
    const expiresAtMs = tokenExpiresAtMs(this.#token);
    if (expiresAtMs === null) return;
    this.#onRefreshDue = onRefreshDue;
    this.#arm(refreshDelayMs(expiresAtMs, this.#clock.now()));
  }

  /** A refresh failed: try again soon unless the token expires before then. */
  retryLater(): void {
    const expiresAtMs = this.#token === undefined ? null : tokenExpiresAtMs(this.#token);
    if (this.#onRefreshDue === undefined || expiresAtMs === null) return;
    if (this.#clock.now() + REFRESH_RETRY_MS >= expiresAtMs) return;
    this.#arm(REFRESH_RETRY_MS);
  }

  /** Stops the refresh timer (disconnected, closed). */
  cancel(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delayMs: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#onRefreshDue?.();
    }, delayMs);
  }
}
