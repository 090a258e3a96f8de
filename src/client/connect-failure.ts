/**
 * @module client/connect-failure
 * Why a connection attempt failed, in words a user can act on: the URL and the cause (nothing
 * listening, no such path, not a Tributary endpoint, TLS, timeout, DNS), as a typed error.
 *
 * The transport reports what its runtime told it: in Node the `ws` package's error (a system
 * error code such as `ECONNREFUSED`, a TLS error code, `Unexpected server response: 404`, an HTTP
 * parse error); in a browser nothing at all — browsers hide why a WebSocket failed (it is in the
 * browser console only), so the error says so and names the URL.
 *
 * Permanent causes (`WRONG_ENDPOINT`, `TLS_FAILED`) are not retriable: the same URL gives the
 * same answer. The others (`CONNECT_FAILED`) may pass: a server restarting, a network coming back.
 *
 * @example
 * connectFailure('ws://127.0.0.1:7701/v1/ws', { error: Object.assign(new Error('…'), { code: 'ECONNREFUSED' }) })
 * // CONNECT_FAILED: Could not connect to ws://127.0.0.1:7701/v1/ws: connection refused (ECONNREFUSED): nothing listens on 127.0.0.1:7701
 */
import { TributaryError } from '../errors.js';

/** What went wrong, as a short fixed word (`details.cause` of the error). */
export type ConnectFailureCause =
  | 'refused'
  | 'dns'
  | 'timeout'
  | 'network'
  | 'unavailable'
  | 'unknown'
  | 'not-found'
  | 'http-status'
  | 'not-tributary'
  | 'tls';

/** What the transport saw of a failed attempt. */
export interface AttemptFailure {
  /** The runtime's error, if it gave one (`ws` does; browsers do not). */
  readonly error?: unknown;
  /** The WebSocket opened (the upgrade succeeded) before it failed. */
  readonly opened?: boolean;
  /** The close code and reason, when the WebSocket closed after opening. */
  readonly code?: number;
  readonly reason?: string;
}

/** System error codes of a connection that may work on a later try. */
const NETWORK_CODES: Readonly<Record<string, { cause: ConnectFailureCause; text: string }>> = {
  ECONNREFUSED: { cause: 'refused', text: 'connection refused' },
  ENOTFOUND: { cause: 'dns', text: 'host name not found' },
  EAI_AGAIN: { cause: 'dns', text: 'host name lookup failed for now' },
  ETIMEDOUT: { cause: 'timeout', text: 'connection timed out' },
  ENETUNREACH: { cause: 'network', text: 'network unreachable' },
  EHOSTUNREACH: { cause: 'network', text: 'host unreachable' },
  ENETDOWN: { cause: 'network', text: 'network down' },
  EADDRNOTAVAIL: { cause: 'network', text: 'address not available' },
};

interface ErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly hostname?: unknown;
}

/** The typed error for a failed connection attempt to `url`. */
export function connectFailure(url: string, failure: AttemptFailure): TributaryError {
  const fail = (
    code: 'CONNECT_FAILED' | 'WRONG_ENDPOINT' | 'TLS_FAILED',
    cause: ConnectFailureCause,
    reason: string,
  ) =>
    new TributaryError(
      code,
      { url, reason, cause },
      failure.error === undefined ? undefined : { cause: failure.error },
    );
  if (failure.opened === true) {
    const closed =
      failure.code === undefined
        ? ''
        : ` (code ${failure.code}${failure.reason ? `: ${failure.reason}` : ''})`;
    return fail('CONNECT_FAILED', 'network', `the connection closed during the Tributary handshake${closed}`);
  }
  const error = errorOf(failure.error);
  if (error === undefined) {
    return fail(
      'CONNECT_FAILED',
      'unknown',
      'the WebSocket failed, and the browser does not say why (see its console): nothing listening, ' +
        'a wrong path or port, a server that is not Tributary, or a TLS or network problem',
    );
  }
  const code = typeof error.code === 'string' ? error.code : undefined;
  const message = typeof error.message === 'string' ? error.message : '';
  const network = code === undefined ? undefined : NETWORK_CODES[code];
  if (network !== undefined) {
    const where = network.cause === 'refused' ? `: nothing listens on ${hostOf(url)}` : '';
    const host = network.cause === 'dns' ? ` ${hostnameOf(url)}` : '';
    return fail('CONNECT_FAILED', network.cause, `${network.text} (${code}${host})${where}`);
  }
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
  if (status !== undefined) return httpFailure(fail, Number(status), url);
  if (code !== undefined && isTlsCode(code)) {
    const hint =
      code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(message)
        ? ': the server does not speak TLS on this port (try ws://)'
        : '';
    return fail('TLS_FAILED', 'tls', `TLS failed: ${message || code} (${code})${hint}`);
  }
  if (code?.startsWith('HPE_') || /Parse Error/i.test(message)) {
    return fail(
      'WRONG_ENDPOINT',
      'not-tributary',
      `the answer to the WebSocket upgrade is not HTTP (${code ?? message}): not a Tributary HTTP port ` +
        "(Tributary's Kafka and MQTT ports do not speak WebSocket)",
    );
  }
  if (code === 'ECONNRESET' || /socket hang up/i.test(message)) {
    return fail(
      'WRONG_ENDPOINT',
      'not-tributary',
      `the server closed the connection without answering the WebSocket upgrade (${code ?? 'socket hang up'}): ` +
        "not a Tributary HTTP port? (Tributary's Kafka and MQTT ports do not speak WebSocket)",
    );
  }
  return fail(
    'CONNECT_FAILED',
    'network',
    code === undefined ? message || 'unknown error' : `${message} (${code})`,
  );
}

/** The handshake got no `welcome` in time: the socket never opened, or opened and stayed silent. */
export function connectTimeout(url: string, ms: number, opened: boolean): TributaryError {
  const reason = opened
    ? `no answer to the Tributary handshake within ${ms} ms (connectTimeoutMs): is this a Tributary endpoint?`
    : `no WebSocket connection within ${ms} ms (connectTimeoutMs)`;
  return new TributaryError('CONNECT_FAILED', { url, reason, cause: 'timeout' });
}

/** The endpoint accepted a WebSocket but answered the handshake with something not Tributary's. */
export function notTributary(url: string, what: string): TributaryError {
  return new TributaryError('WRONG_ENDPOINT', {
    url,
    reason: `the endpoint speaks WebSocket but not Tributary's protocol (${what})`,
    cause: 'not-tributary',
  });
}

function httpFailure(
  fail: (
    code: 'CONNECT_FAILED' | 'WRONG_ENDPOINT',
    cause: ConnectFailureCause,
    reason: string,
  ) => TributaryError,
  status: number,
  url: string,
): TributaryError {
  if (status === 404) {
    return fail(
      'WRONG_ENDPOINT',
      'not-found',
      `not found (HTTP 404): no WebSocket endpoint at ${pathOf(url)} (Tributary's is /v1/ws)`,
    );
  }
  if (status === 503) {
    return fail('CONNECT_FAILED', 'unavailable', 'the server is unavailable (HTTP 503), e.g. shutting down');
  }
  if (status === 403) {
    return fail(
      'WRONG_ENDPOINT',
      'http-status',
      'the server refused the WebSocket upgrade (HTTP 403): Tributary answers 403 to a Host or Origin ' +
        'it does not allow (allowedHosts, allowedOrigins)',
    );
  }
  return fail(
    'WRONG_ENDPOINT',
    'http-status',
    `the server answered the WebSocket upgrade with HTTP ${status}: not a Tributary WebSocket endpoint`,
  );
}

function isTlsCode(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code === 'EPROTO' ||
    /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH/.test(code)
  );
}

function errorOf(value: unknown): ErrorLike | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const error = value as ErrorLike;
  return error.code === undefined && error.message === undefined ? undefined : error;
}

function parsed(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

function hostOf(url: string): string {
  const u = parsed(url);
  if (u === undefined) return url;
  const port = u.port || (u.protocol === 'wss:' ? '443' : '80');
  return `${u.hostname}:${port}`;
}

function hostnameOf(url: string): string {
  return parsed(url)?.hostname ?? url;
}

function pathOf(url: string): string {
  return parsed(url)?.pathname ?? url;
}
