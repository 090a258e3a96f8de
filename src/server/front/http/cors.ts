/**
 * @module server/front/http/cors
 * Applies the browser policy (`server/auth/browser.ts`) to every HTTP request the server gets
 * (the API, SSE, `/healthz`, `/metrics`), before any handler runs:
 *
 * - a `Host` not allowed, or an `Origin` neither the server's own nor allowed: the typed error
 *   (403 `HOST_NOT_ALLOWED` / `ORIGIN_NOT_ALLOWED`), nothing else runs;
 * - a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin:
 *   204 with `Access-Control-Allow-Origin`, `-Methods`, `-Headers`, `-Max-Age` (and
 *   `-Credentials`, or `-Private-Network` when Chromium asks for it);
 * - an actual request from an allowed other origin: its answer carries
 *   `Access-Control-Allow-Origin` (that origin and `-Credentials: true`, or `*` without
 *   credentials when any origin is allowed) and `Access-Control-Expose-Headers: Location, Allow`.
 *
 * Every answer carries `Vary: Origin` so a cache never hands one origin's answer to another.
 *
 * @example
 * if (!applyBrowserPolicy(policy, req, res)) return; // answered (refused, or a preflight)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { BrowserPolicy } from '../../auth/browser.js';
import { sendError } from './respond.js';

/** Methods a preflight allows (every method of the API; which path has which is the router's answer). */
export const CORS_ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
/** Request headers a cross-origin page may send (credentials, the JSON body, SSE resume). */
export const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, Last-Event-ID';
/** Answer headers a cross-origin page may read besides the CORS-safelisted ones. */
export const CORS_EXPOSE_HEADERS = 'Location, Allow';
/** How long a browser may cache a preflight answer (Chromium caps it at 2 hours). */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * Whether the request goes on to the handlers. When false, it was answered here: refused (the
 * error is returned for the caller's metrics) or a preflight.
 */
export function applyBrowserPolicy(
  policy: BrowserPolicy,
  req: IncomingMessage,
  res: ServerResponse,
): { readonly proceed: true } | { readonly proceed: false; readonly code?: string } {
  const host = req.headers.host;
  const origin = req.headers.origin;
  const secure = (req.socket as Partial<TLSSocket>).encrypted === true;
  res.setHeader('vary', 'Origin');
  const refused = policy.check(host, origin, secure);
  if (refused !== undefined) {
    // Not read: the client learns why from the status; the body is thrown away unparsed.
    req.resume();
    return { proceed: false, code: sendError(res, refused, { connection: 'close' }) };
  }
  if (origin === undefined || !policy.crossOrigin(origin, host, secure)) return { proceed: true };
  if (policy.anyOrigin) {
    res.setHeader('access-control-allow-origin', '*');
  } else {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-credentials', 'true');
  }
  if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
    res.setHeader('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
    res.setHeader('access-control-allow-methods', CORS_ALLOW_METHODS);
    res.setHeader('access-control-allow-headers', CORS_ALLOW_HEADERS);
    res.setHeader('access-control-max-age', String(CORS_MAX_AGE_SECONDS));
    // Chromium's Private Network Access: a public page asking for a private address says so.
    if (req.headers['access-control-request-private-network'] === 'true') {
      res.setHeader('access-control-allow-private-network', 'true');
    }
    res.writeHead(204).end();
    req.resume();
    return { proceed: false };
  }
  res.setHeader('access-control-expose-headers', CORS_EXPOSE_HEADERS);
  return { proceed: true };
}
