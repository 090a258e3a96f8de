/**
 * @module server/front/http/body
 * Reads a request body as JSON, bounded in size by `httpBodyBytesMax` and in pace by
 * `httpBodyIdleTimeoutMs`. A body announced larger (`Content-Length`) is refused before a byte
 * is read; a chunked body is refused as soon as it passes the limit, and reading stops there.
 * Either way the error is `FRAME_TOO_LARGE` (413) and the caller answers it with
 * `Connection: close`, so the rest of the body is never read. A client that pauses longer than
 * the idle timeout between two chunks (a trickled body holding the connection) gets
 * `REQUEST_TIMEOUT` (408), also answered with `Connection: close`. A body whose arrays and
 * objects nest deeper than `httpJsonDepthMax` is `MALFORMED_DATA` (400) before it is parsed:
 * handlers and the answer's serializer walk values recursively, and the stack has a bottom.
 *
 * @example
 * const body = await readJsonBody(req, { httpBodyBytesMax: 16 * 1024 * 1024, httpBodyIdleTimeoutMs: 10_000, httpJsonDepthMax: 128 });
 */
import type { IncomingMessage } from 'node:http';
import { TributaryError } from '../../../errors.js';
import { jsonDepthExceeds } from '../../../protocol/json-depth.js';

export interface JsonBody {
  readonly value: unknown;
  readonly bytes: number;
}

export interface BodyLimits {
  readonly httpBodyBytesMax: number;
  /** 0: no limit. */
  readonly httpBodyIdleTimeoutMs: number;
  readonly httpJsonDepthMax: number;
}

export function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<JsonBody> {
  const maxBodyBytes = limits.httpBodyBytesMax;
  const announced = req.headers['content-length'];
  if (announced !== undefined && Number(announced) > maxBodyBytes) {
    return Promise.reject(tooLarge(Number(announced), maxBodyBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let done = false;
    const idleMs = limits.httpBodyIdleTimeoutMs;
    const idle =
      idleMs === 0
        ? undefined
        : setTimeout(() => {
            req.pause();
            finish(
              new TributaryError('REQUEST_TIMEOUT', {
                reason: `no byte of the body for ${idleMs} ms`,
                limit: idleMs,
                limitName: 'httpBodyIdleTimeoutMs',
              }),
            );
          }, idleMs);
    const finish = (error: unknown, value?: JsonBody): void => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (error === undefined) resolve(value!);
      else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      idle?.refresh();
      bytes += chunk.byteLength;
      if (bytes > maxBodyBytes) {
        req.pause();
        finish(tooLarge(bytes, maxBodyBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      try {
        finish(undefined, { value: parseJson(Buffer.concat(chunks, bytes), limits.httpJsonDepthMax), bytes });
      } catch (error) {
        finish(error);
      }
    };
    const onError = (error: Error): void =>
      finish(new TributaryError('CONNECTION_LOST', { reason: error.message }));
    const onAborted = (): void =>
      finish(new TributaryError('CONNECTION_LOST', { reason: 'the client aborted the request' }));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function parseJson(bytes: Buffer, jsonDepthMax: number): unknown {
  if (bytes.byteLength === 0) {
    throw new TributaryError('MALFORMED_DATA', { what: 'JSON body', reason: 'the request body is empty' });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TributaryError('MALFORMED_DATA', { what: 'JSON body', reason: 'it is not valid UTF-8' });
  }
  checkJsonDepth(text, jsonDepthMax, 'JSON body');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TributaryError('MALFORMED_DATA', { what: 'JSON body', reason: (error as Error).message });
  }
}

/** `MALFORMED_DATA` when arrays and objects in `text` nest deeper than `jsonDepthMax` (`httpJsonDepthMax`). */
export function checkJsonDepth(text: string, jsonDepthMax: number, what: string): void {
  if (jsonDepthExceeds(text, jsonDepthMax)) {
    throw new TributaryError('MALFORMED_DATA', {
      what,
      reason: `arrays and objects are nested deeper than ${jsonDepthMax} levels (httpJsonDepthMax)`,
    });
  }
}

function tooLarge(bytes: number, limit: number): TributaryError {
  return new TributaryError('FRAME_TOO_LARGE', { bytes, limit, limitName: 'httpBodyBytesMax' });
}
