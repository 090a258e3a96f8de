/**
 * @module server/front/http/streams
 * Event streams over HTTP (docs/event-sourcing.md, "HTTP"), on the server's `EventStore`:
 *
 * | route | does |
 * |---|---|
 * | `POST /v1/streams/{stream}` `{ events, expectedRevision? }` | append: `{ revision, position }`; 409 `WRONG_EXPECTED_REVISION` |
 * | `POST /v1/streams` `{ appends: [{ stream, events, expectedRevision? }] }` | several streams, all or nothing: `{ results }` |
 * | `GET /v1/streams/{stream}?from=&limit=&direction=forward\|backward` | read a stream: `{ events }` |
 * | `GET /v1/streams?after=&limit=&category=` | every stream (or one category) in position order: `{ events }` |
 * | `PUT /v1/streams/{stream}/metadata` `{ metadata, expectedRevision? }` | change max age, max count, truncate before: `{ revision, position }` |
 * | `GET /v1/streams/{stream}/metadata` | `{ metadata, deleted, revision }` |
 * | `DELETE /v1/streams/{stream}?expectedRevision=` | soft delete: `{ position }` |
 * | `PUT /v1/streams/{stream}/snapshot` `{ revision, state }` | store a snapshot: `{ position }` |
 * | `GET /v1/streams/{stream}/snapshot` | the latest snapshot: `{ snapshot }` (null: none) |
 * | `GET /v1/streams/{stream}/events`, `GET /v1/stream-events?category=` | catch-up subscriptions as SSE (`streams-events.ts`) |
 *
 * Bodies are checked by the store (`es/streams/checks.ts`), so every front end refuses the same
 * input with the same error.
 */

import { TributaryError } from '../../../errors.js';
import type { EventStore } from '../../../es/streams/types.js';
import { readJsonBody } from './body.js';
import { expectObject, type Handler, type HttpContext, type HttpRequest, param } from './context.js';
import { sendJson } from './respond.js';

export function eventStoreOf(ctx: HttpContext): EventStore {
  if (ctx.eventStore === undefined) {
    throw new TributaryError('NOT_FOUND', { what: 'event streams (not enabled on this server)' });
  }
  return ctx.eventStore;
}

function invalid(reason: string): never {
  throw new TributaryError('INVALID_ARGUMENT', { reason });
}

async function body(
  ctx: HttpContext,
  request: HttpRequest,
  allowed: readonly string[],
): Promise<Record<string, unknown>> {
  const { value } = await readJsonBody(request.req, ctx.limits);
  const object = expectObject(value, 'The request body');
  for (const name of Object.keys(object)) {
    if (!allowed.includes(name)) invalid(`unknown field "${name}" (allowed: ${allowed.join(', ')})`);
  }
  return object;
}

export function onlyQuery(request: HttpRequest, allowed: readonly string[]): void {
  for (const name of request.query.keys()) {
    if (!allowed.includes(name)) {
      invalid(`unknown query parameter "${name}" (allowed: ${allowed.join(', ') || 'none'})`);
    }
  }
}

/** An integer query parameter (`-1` allowed where it means "before the first"), or undefined. */
export function queryInt(request: HttpRequest, name: string): number | undefined {
  const text = request.query.get(name);
  if (text === null) return undefined;
  const value = /^-?\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) invalid(`${name} must be an integer, got "${text.slice(0, 40)}"`);
  return value;
}

/** `expectedRevision` as JSON gives it: a keyword, a number, or a numeric string from a form-minded client. */
function expectedOf(value: unknown): unknown {
  if (typeof value === 'string' && /^-?\d{1,16}$/.test(value)) return Number(value);
  return value;
}

export const appendToStream: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['events', 'expectedRevision']);
  if (b.events === undefined) invalid('"events" (an array of {type, data, id?, metadata?}) is required');
  const result = await eventStoreOf(ctx).append(
    param(request, 'stream'),
    b.events as never,
    expectedOf(b.expectedRevision) as never,
  );
  sendJson(request.res, 200, result);
};

export const appendToStreams: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['appends']);
  if (!Array.isArray(b.appends))
    invalid('"appends" (an array of {stream, events, expectedRevision?}) is required');
  const appends = b.appends.map((append: unknown, i: number) => {
    const a = expectObject(append, `appends[${i}]`);
    return { ...a, expectedRevision: expectedOf(a.expectedRevision) };
  });
  const results = await eventStoreOf(ctx).appendMany(appends as never);
  sendJson(request.res, 200, { results });
};

export const readStream: Handler = async (ctx, request) => {
  onlyQuery(request, ['from', 'limit', 'direction']);
  const from = queryInt(request, 'from');
  const limit = queryInt(request, 'limit');
  const direction = request.query.get('direction') ?? undefined;
  const events = await eventStoreOf(ctx).readStream(param(request, 'stream'), {
    ...(from === undefined ? {} : { from }),
    ...(limit === undefined ? {} : { limit }),
    ...(direction === undefined ? {} : { direction: direction as 'forward' }),
  });
  sendJson(request.res, 200, { events });
};

export const readAllStreams: Handler = async (ctx, request) => {
  onlyQuery(request, ['after', 'limit', 'category']);
  const after = queryInt(request, 'after');
  const limit = queryInt(request, 'limit');
  const category = request.query.get('category') ?? undefined;
  const events = await eventStoreOf(ctx).readAll({
    ...(after === undefined ? {} : { after }),
    ...(limit === undefined ? {} : { limit }),
    ...(category === undefined ? {} : { category }),
  });
  sendJson(request.res, 200, { events });
};

export const setStreamMetadata: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['metadata', 'expectedRevision']);
  if (b.metadata === undefined) invalid('"metadata" ({maxAgeMs?, maxCount?, truncateBefore?}) is required');
  const result = await eventStoreOf(ctx).setStreamMetadata(
    param(request, 'stream'),
    b.metadata as never,
    expectedOf(b.expectedRevision) as never,
  );
  sendJson(request.res, 200, result);
};

export const getStreamMetadata: Handler = async (ctx, request) => {
  onlyQuery(request, []);
  sendJson(request.res, 200, await eventStoreOf(ctx).getStreamMetadata(param(request, 'stream')));
};

export const deleteStream: Handler = async (ctx, request) => {
  onlyQuery(request, ['expectedRevision']);
  const expected = request.query.get('expectedRevision') ?? undefined;
  const result = await eventStoreOf(ctx).deleteStream(
    param(request, 'stream'),
    expectedOf(expected) as never,
  );
  sendJson(request.res, 200, result);
};

export const saveSnapshot: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['revision', 'state']);
  if (b.revision === undefined) invalid('"revision" (the stream revision the state is after) is required');
  const result = await eventStoreOf(ctx).saveSnapshot(
    param(request, 'stream'),
    b.revision as number,
    b.state,
  );
  sendJson(request.res, 200, result);
};

export const loadSnapshot: Handler = async (ctx, request) => {
  onlyQuery(request, []);
  sendJson(request.res, 200, { snapshot: await eventStoreOf(ctx).loadSnapshot(param(request, 'stream')) });
};
