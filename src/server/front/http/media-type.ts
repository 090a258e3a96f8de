/**
 * @module server/front/http/media-type
 * Which requests may change state: a POST, PUT or PATCH must say `Content-Type: application/json`
 * (parameters such as `; charset=utf-8` allowed), the only body format the HTTP API reads. A
 * DELETE needs none, but one that carries a body or a content type must say the same.
 *
 * Why: a page on any site can make a browser send a "simple" cross-site request without asking
 * the server first (no CORS preflight): a form post (`application/x-www-form-urlencoded`,
 * `multipart/form-data`) or a `fetch` with `mode: 'no-cors'` and a `text/plain` body. CORS then
 * only hides the answer; the request itself has run. A JSON content type is not one a browser
 * sends cross-site without a preflight, which the server answers only for allowed origins
 * (`cors.ts`), so refusing every other type before the body is read (`UNSUPPORTED_MEDIA_TYPE`,
 * 415) leaves such a page nothing that writes. DELETE is never a simple request: a browser
 * always asks first.
 *
 * @example
 * checkMediaType(req.method, req.headers['content-type'], hasBody(req)); // throws UNSUPPORTED_MEDIA_TYPE
 */
import type { IncomingHttpHeaders } from 'node:http';
import { TributaryError } from '../../../errors.js';

/** The media type state-changing requests must carry. */
export const JSON_MEDIA_TYPE = 'application/json';

/**
 * Throws `UNSUPPORTED_MEDIA_TYPE` unless the request may go on: GET, HEAD and OPTIONS always;
 * POST, PUT and PATCH with a JSON content type; DELETE without a body and content type, or with
 * a JSON one.
 */
export function checkMediaType(method: string, headers: IncomingHttpHeaders): void {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return;
  const contentType = headers['content-type'];
  if (method === 'DELETE' && contentType === undefined && !hasBody(headers)) return;
  if (contentType !== undefined && isJson(contentType)) return;
  throw new TributaryError('UNSUPPORTED_MEDIA_TYPE', {
    method,
    contentType: contentType === undefined ? 'none' : JSON.stringify(contentType),
  });
}

/** `application/json`, in any case, with or without parameters (`; charset=utf-8`). */
function isJson(contentType: string): boolean {
  const end = contentType.indexOf(';');
  const type = (end === -1 ? contentType : contentType.slice(0, end)).trim();
  return type.length === JSON_MEDIA_TYPE.length && type.toLowerCase() === JSON_MEDIA_TYPE;
}

/** A request has a body when it announces one (RFC 9112: a Content-Length other than 0, or Transfer-Encoding). */
function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined;
}
