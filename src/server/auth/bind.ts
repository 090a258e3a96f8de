/**
 * @module server/auth/bind
 * The safe default: a server without authentication serves only its own machine. With no auth
 * file configured, a `--host` that is not loopback (0.0.0.0, ::, a LAN address, a name that
 * resolves to one) is refused before anything listens (`INVALID_SETTING` naming `host`), unless
 * `insecure` is set; then the server starts and logs a warning that anyone who can reach its
 * ports can read and write everything. The HTTP, WebSocket and Kafka listeners share `--host`,
 * so the rule covers all three.
 *
 * @example
 * const bind = await checkBind({ host: '0.0.0.0', insecure: false, authConfigured: false }); // throws INVALID_SETTING
 * const { loopback } = await checkBind({ host: '127.0.0.1', insecure: false, authConfigured: false });
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { TributaryError } from '../../errors.js';

/**
 * Whether authentication is configured: the one predicate the safe default asks. The auth file
 * (`authFile`, docs/security.md) is what configures it; an empty or absent path means none.
 */
export function authConfigured(settings: { readonly authFile?: unknown }): boolean {
  return typeof settings.authFile === 'string' && settings.authFile !== '';
}

/** Whether `address` is an IP address of this machine's loopback (127.0.0.0/8, ::1, and 127/8 mapped into IPv6). */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const version = isIP(bare);
  if (version === 4) return bare.startsWith('127.');
  if (version === 6) {
    const lower = bare.toLowerCase();
    if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}

/**
 * Whether listening on `host` listens on loopback only: a loopback address, `localhost`, or a
 * name every address of which is loopback. A name that does not resolve is not loopback (the
 * listen fails later with its own message).
 */
export async function listensOnLoopbackOnly(host: string): Promise<boolean> {
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) return isLoopbackAddress(host);
  if (host.toLowerCase() === 'localhost') return true;
  try {
    const addresses = await lookup(host, { all: true });
    return addresses.length > 0 && addresses.every((entry) => isLoopbackAddress(entry.address));
  } catch {
    return false;
  }
}

export interface BindRequest {
  readonly host: string;
  /** The `insecure` setting: a non-loopback host without authentication is allowed, with a warning. */
  readonly insecure: boolean;
  /** {@link authConfigured} of the settings. */
  readonly authConfigured: boolean;
}

export interface BindDecision {
  /** Whether the server listens on loopback only (the default `allowedHosts` depends on it). */
  readonly loopback: boolean;
  /** The warning to log: set when the server listens beyond loopback without authentication. */
  readonly warning?: string;
}

/** Applies the rule of the module comment: throws `INVALID_SETTING` (setting `host`) or says what to log. */
export async function checkBind(request: BindRequest): Promise<BindDecision> {
  const loopback = await listensOnLoopbackOnly(request.host);
  if (loopback || request.authConfigured) return { loopback };
  if (!request.insecure) {
    throw new TributaryError('INVALID_SETTING', {
      setting: 'host',
      reason:
        `${request.host} is not a loopback address, and no authentication is configured: anyone who ` +
        'could reach the server there could read, write and delete all its data. Configure an auth ' +
        'file (--auth-file, see docs/security.md), or listen on 127.0.0.1, or give --insecure ' +
        '(TRIBUTARY_INSECURE=1) to serve without authentication anyway',
    });
  }
  return {
    loopback,
    warning:
      `INSECURE: listening on ${request.host} without authentication (--insecure). Anyone who can ` +
      'reach the HTTP, WebSocket or Kafka port can read, write and delete all data. Configure an ' +
      'auth file (docs/security.md), and set --allowed-hosts to the names clients use.',
  };
}
