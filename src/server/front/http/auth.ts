/**
 * @module server/front/http/auth
 * Who an HTTP request or SSE stream acts as. Every request gets its own {@link Session} from the
 * Security (closed when the response is done); an SSE stream keeps its session for as long as it
 * is open, so the stream ends, with a final `error` event, when the session ends (the guard ends
 * the stream's subscriptions with `TOKEN_EXPIRED` / `ACCESS_REVOKED`).
 *
 * Credentials, first found wins:
 * 1. `Authorization: Bearer <jwt or API key>` or `Basic <base64 user:password>`;
 * 2. SSE only: the cookie `tributary_token` (EventSource cannot set headers, but sends cookies);
 * 3. SSE only, and only with the setting `authTokenInQuery`: `?access_token=` (off by default:
 *    URLs are written to proxy and access logs and kept in browser history).
 * None: the principal of the connection's verified client certificate when the auth file lets
 * certificates log in, else the `anonymous` session when it allows that, else 401.
 *
 * Password checks are cheap after the first (the Security remembers verified passwords), and
 * tokens and API keys cost microseconds, so nothing is cached here.
 *
 * @example
 * const session = await requestSession(security, req, query, { stream: true, tokenInQuery: false });
 */
import type { IncomingMessage } from 'node:http';
import { TributaryError } from '../../../errors.js';
import { certificatePrincipal, sessionWithoutCredentials } from '../../auth/certificate.js';
import { credentialsFromHeader } from '../../auth/credentials.js';
import type { Credentials, Security, Session } from '../../auth/types.js';

/** The cookie an SSE stream may carry its token in. */
export const TOKEN_COOKIE = 'tributary_token';
/** The query parameter that carries a token when `authTokenInQuery` is on. */
export const TOKEN_QUERY_PARAMETER = 'access_token';

/** The `WWW-Authenticate` challenge of every 401 (RFC 7235: both schemes the server takes). */
export const WWW_AUTHENTICATE = 'Bearer realm="tributary", Basic realm="tributary", charset="UTF-8"';

export interface RequestAuthOptions {
  /** An SSE stream: the cookie (and the query parameter, if allowed) count too. */
  readonly stream: boolean;
  /** The setting `authTokenInQuery`. */
  readonly tokenInQuery: boolean;
}

/**
 * The session of a request. Removes `access_token` from `query` when it was used, so handlers
 * that refuse unknown parameters do not see it. Throws `UNAUTHENTICATED` (401).
 */
export async function requestSession(
  security: Security,
  req: IncomingMessage,
  query: URLSearchParams,
  options: RequestAuthOptions,
): Promise<Session> {
  const connection = {
    protocol: options.stream ? 'sse' : 'http',
    remoteAddress: req.socket.remoteAddress ?? 'unknown',
  };
  const credentials = requestCredentials(req, query, options);
  if (credentials === undefined)
    return sessionWithoutCredentials(security, certificatePrincipal(req.socket), connection);
  return security.authenticate(credentials, connection);
}

function requestCredentials(
  req: IncomingMessage,
  query: URLSearchParams,
  options: RequestAuthOptions,
): Credentials | undefined {
  const inQuery = query.get(TOKEN_QUERY_PARAMETER);
  if (inQuery !== null) {
    if (!options.stream || !options.tokenInQuery) {
      throw new TributaryError('UNAUTHENTICATED', {
        reason: `tokens in URLs are refused (send Authorization: Bearer${options.stream ? `, or the cookie ${TOKEN_COOKIE}` : ''}; the setting authTokenInQuery allows ?${TOKEN_QUERY_PARAMETER}= on SSE streams)`,
      });
    }
    query.delete(TOKEN_QUERY_PARAMETER);
  }
  const header = credentialsFromHeader(req.headers.authorization);
  if (header !== undefined) return header;
  // An empty token is a broken credential, refused like a broken header, never anonymous.
  if (options.stream) {
    const cookie = cookieValue(req.headers.cookie, TOKEN_COOKIE);
    if (cookie !== undefined) return tokenCredential(cookie, `the cookie ${TOKEN_COOKIE}`);
  }
  if (inQuery !== null) return tokenCredential(inQuery, `?${TOKEN_QUERY_PARAMETER}=`);
  return undefined;
}

function tokenCredential(token: string, where: string): Credentials {
  if (token === '') throw new TributaryError('UNAUTHENTICATED', { reason: `${where} is empty` });
  return { kind: 'token', token };
}

/** `url` for a log line: the value of every `access_token` parameter replaced, so no token is written. */
export function loggableUrl(url: string | undefined): string | undefined {
  if (url === undefined || !url.includes(TOKEN_QUERY_PARAMETER)) return url;
  return url.replace(/([?&]access_token=)[^&#]*/g, '$1…');
}

/** The value of cookie `name` in a `Cookie` header (RFC 6265 §5.4), URL-decoded when it is encoded. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}
