/**
 * @module server/front/http/respond
 * Writing JSON answers and typed errors. Every error is answered as
 * `{ "error": { "code", "message", "details" } }` with the HTTP status of its code in the error
 * catalogue (`src/errors.ts`); an error that is not a `TributaryError` is a bug and answered 500
 * `INTERNAL` without its message (it is logged instead).
 *
 * @example
 * sendJson(res, 201, description);
 * sendError(res, new TributaryError('TOPIC_NOT_FOUND', { topic }));
 */
import type { ServerResponse } from 'node:http';
import { isTributaryError, TributaryError } from '../../../errors.js';

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details: Readonly<Record<string, unknown>>;
  };
}

/** Sends `body` as JSON; returns the number of body bytes. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): number {
  const text = JSON.stringify(body);
  const bytes = Buffer.byteLength(text);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': bytes,
  });
  res.end(text);
  return bytes;
}

export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}

/** The HTTP status and JSON body for an error (see the module comment). */
export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (isTributaryError(error)) {
    const details: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(error.details)) if (value !== undefined) details[key] = value;
    return {
      status: error.httpStatus,
      body: { error: { code: error.code, message: error.message, details } },
    };
  }
  const internal = new TributaryError('INTERNAL');
  return {
    status: internal.httpStatus,
    body: { error: { code: internal.code, message: internal.message, details: {} } },
  };
}

export function sendError(
  res: ServerResponse,
  error: unknown,
  headers: Readonly<Record<string, string>> = {},
): string {
  const { status, body } = errorResponse(error);
  if (res.headersSent) {
    res.end();
  } else {
    sendJson(res, status, body, headers);
  }
  return body.error.code;
}
