/**
 * @module server/auth/browser
 * What a web browser may do with this server. A page on any site can make the user's browser
 * send requests to a server on the user's own machine or network; the browser then tells the
 * server who asks (the `Origin` header) and which name it used (`Host`). This module decides,
 * per request and with string compares against sets built once:
 *
 * - **Host** (DNS rebinding): a page on `evil.example` whose name is made to resolve to
 *   127.0.0.1 is same-origin with itself, so the browser lets it read the answers. It still
 *   sends `Host: evil.example`, so a server that answers only to its own names is out of reach.
 *   `allowedHosts` lists them; empty means `localhost`, `127.0.0.1`, `[::1]` and the bound host
 *   when the server listens on loopback, and any name otherwise (a server reachable from a
 *   network is reached by names it cannot guess, and relies on authentication).
 * - **Origin**: a request carrying an `Origin` is allowed when it is the server's own origin
 *   (`http://` + the `Host` it was sent to, `https://` over TLS), is listed in `allowedOrigins`,
 *   or `allowedOrigins` holds `*`. Others are refused (`ORIGIN_NOT_ALLOWED`) on every route,
 *   WebSocket upgrades and SSE streams included. A request without `Origin` (curl, the SDK in
 *   Node, the CLI, Kafka clients) is not a browser's cross-site request and is unaffected.
 *
 * The CORS answers built on these decisions are in `front/http/cors.ts`; which content types may
 * change state in `front/http/media-type.ts`. See docs/security.md, "Browser protections".
 *
 * @example
 * const policy = new BrowserPolicy({ allowedOrigins: ['https://app.example.com'], allowedHosts: [], loopback: true, boundHost: '127.0.0.1' });
 * const refused = policy.check(req.headers.host, req.headers.origin, false); // TributaryError | undefined
 */
import { TributaryError } from '../../errors.js';

export interface BrowserPolicyOptions {
  /** Exact origins (`https://app.example.com`), or `*` for any. Default: none but the server's own. */
  readonly allowedOrigins?: readonly string[];
  /** Host names without port (`[::1]` for IPv6), or `*` for any. Empty: see the module comment. */
  readonly allowedHosts?: readonly string[];
  /** Whether the server listens on loopback addresses only (then an empty `allowedHosts` means the loopback names). */
  readonly loopback?: boolean;
  /** The `--host` the server is bound to; allowed as a `Host` name when the defaults apply. */
  readonly boundHost?: string;
}

/** The names a loopback server answers to when `allowedHosts` is empty (plus its bound host). */
export const LOOPBACK_HOST_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** The decisions of the module comment, over sets computed once. */
export class BrowserPolicy {
  /** Origins allowed besides the server's own; null when any is (`*`). */
  private readonly origins: ReadonlySet<string> | null;
  /** Origins listed by name (beside a `*` or not): trusted with credentials browsers attach. */
  private readonly namedOrigins: ReadonlySet<string>;
  /** Host names allowed; null when any is. */
  private readonly hosts: ReadonlySet<string> | null;

  constructor(options: BrowserPolicyOptions = {}) {
    const origins = options.allowedOrigins ?? [];
    this.origins = origins.includes('*') ? null : new Set(origins);
    this.namedOrigins = new Set(origins.filter((origin) => origin !== '*'));
    const hosts = (options.allowedHosts ?? []).map((host) => host.toLowerCase());
    if (hosts.includes('*')) {
      this.hosts = null;
    } else if (hosts.length > 0) {
      this.hosts = new Set(hosts);
    } else if (options.loopback === true) {
      const bound = options.boundHost === undefined ? [] : [hostHeaderName(options.boundHost)];
      this.hosts = new Set([...LOOPBACK_HOST_NAMES, ...bound]);
    } else {
      this.hosts = null;
    }
  }

  /** Whether every origin is allowed (`*`): answers then carry `Access-Control-Allow-Origin: *`, without credentials. */
  get anyOrigin(): boolean {
    return this.origins === null;
  }

  /** The host names answered to, or null for any (for logs and docs). */
  get allowedHosts(): readonly string[] | null {
    return this.hosts === null ? null : [...this.hosts];
  }

  /** Whether the `Host` header (with or without port) names this server; a request without one is not a browser's. */
  hostAllowed(host: string | undefined): boolean {
    if (this.hosts === null || host === undefined) return true;
    const name = hostName(host);
    return this.hosts.has(name) || this.hosts.has(name.toLowerCase());
  }

  /**
   * Whether a request carrying `origin`, sent to `host`, may be served: the server's own origin,
   * or one allowed. `secure`: the request came over TLS.
   */
  originAllowed(origin: string, host: string | undefined, secure: boolean): boolean {
    if (this.origins === null || this.origins.has(origin)) return true;
    return host !== undefined && isOwnOrigin(origin, host, secure);
  }

  /**
   * Whether credentials a browser attaches by itself (saved Basic credentials, cookies) may be
   * used for a request from `origin`: no origin (not a browser page), the server's own, or one
   * listed by name. An origin let in only by `*` must authenticate explicitly (`hello.auth`), or
   * any site could act with the credentials the user's browser holds for this server.
   */
  ambientCredentialsAllowed(origin: string | undefined, host: string | undefined, secure: boolean): boolean {
    if (origin === undefined || this.namedOrigins.has(origin)) return true;
    return host !== undefined && isOwnOrigin(origin, host, secure);
  }

  /** Whether `origin` differs from the server's own, so answers need CORS headers. */
  crossOrigin(origin: string, host: string | undefined, secure: boolean): boolean {
    return host === undefined || !isOwnOrigin(origin, host, secure);
  }

  /**
   * The error a request must be refused with (`HOST_NOT_ALLOWED`, then `ORIGIN_NOT_ALLOWED`), or
   * undefined when it may be served.
   */
  check(host: string | undefined, origin: string | undefined, secure: boolean): TributaryError | undefined {
    if (!this.hostAllowed(host)) {
      return new TributaryError('HOST_NOT_ALLOWED', { host: host ?? '' });
    }
    if (origin !== undefined && !this.originAllowed(origin, host, secure)) {
      return new TributaryError('ORIGIN_NOT_ALLOWED', { origin });
    }
    return undefined;
  }
}

/** `http://` + `Host` is the origin a page served by this server has (browsers omit default ports in both). */
function isOwnOrigin(origin: string, host: string, secure: boolean): boolean {
  const scheme = secure ? 'https://' : 'http://';
  if (origin.length !== scheme.length + host.length || !origin.startsWith(scheme)) return false;
  const rest = origin.slice(scheme.length);
  return rest === host || rest === host.toLowerCase();
}

/** The name of a `Host` header without its port: `localhost:7700` → `localhost`, `[::1]:7700` → `[::1]`. */
export function hostName(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/** How an address to listen on appears in a `Host` header: IPv6 in brackets, lower case. */
export function hostHeaderName(address: string): string {
  const lower = address.toLowerCase();
  return lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower;
}
