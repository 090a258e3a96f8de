/**
 * @module server/front/http/collections
 * Live collections over HTTP (`docs/collections.md`), on the `CollectionService`:
 *
 * | route | does |
 * |---|---|
 * | `POST /v1/collections` `{ name, mode, partitions?, fsync? }` | create (201) |
 * | `GET /v1/collections`, `GET /v1/collections/{c}`, `DELETE /v1/collections/{c}` | list, describe, delete (204) |
 * | `GET /v1/collections/{c}/items/{key}?consistency=` | read one (404 when absent) |
 * | `PUT …/items/{key}` `{ value, ifVersion? }`, `PATCH …/items/{key}` `{ fields, ifVersion? }` | write |
 * | `DELETE …/items/{key}?ifVersion=` | delete |
 * | `POST …/items/{key}/increment` `{ field, by, ifVersion? }` | counter |
 * | `POST /v1/collections/{c}/transact` `{ ops, conditions? }` | strong transaction |
 * | `POST /v1/collections/{c}/ops` `{ ops }` | client-stamped CRDT operations (eventual) |
 * | `POST /v1/collections/{c}/query` `{ where?, keyPrefix?, orderBy?, limit?, consistency? }` | query |
 * | `GET /v1/collections/{c}/events?query=` | live subscription as SSE (`collections-events.ts`) |
 */
import { decodeOperation } from '../../../crdt/index.js';
import { TributaryError } from '../../../errors.js';
import {
  checkDocument,
  checkHistoryLimit,
  checkKey,
  checkQuery,
  checkTransact,
  checkVersion,
  checkWriteOp,
  HISTORY_LIMITS,
  type ReadConsistency,
  type WriteOp,
} from '../../../sync/index.js';
import type { CollectionsAccess } from '../../auth/guard.js';
import { readJsonBody } from './body.js';
import {
  expectObject,
  type Handler,
  type HttpContext,
  type HttpRequest,
  param,
  parseNonNegativeInt,
} from './context.js';
import { sendJson, sendNoContent } from './respond.js';

export function collectionService(ctx: HttpContext): CollectionsAccess {
  if (ctx.collections === undefined) {
    throw new TributaryError('NOT_FOUND', { what: 'live collections (not enabled on this server)' });
  }
  return ctx.collections;
}

function invalid(reason: string): never {
  throw new TributaryError('INVALID_ARGUMENT', { reason });
}

function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const name of Object.keys(body)) {
    if (!allowed.includes(name)) invalid(`unknown field "${name}" (allowed: ${allowed.join(', ')})`);
  }
}

async function body(
  ctx: HttpContext,
  request: HttpRequest,
  allowed: readonly string[],
): Promise<Record<string, unknown>> {
  const { value } = await readJsonBody(request.req, ctx.limits);
  const object = expectObject(value, 'The request body');
  onlyFields(object, allowed);
  return object;
}

function consistencyOf(value: unknown): ReadConsistency | undefined {
  if (value === undefined || value === null) return undefined;
  if (value !== 'local' && value !== 'linearizable') invalid('consistency must be "local" or "linearizable"');
  return value;
}

function onlyQuery(request: HttpRequest, allowed: readonly string[]): void {
  for (const name of request.query.keys()) {
    if (!allowed.includes(name))
      invalid(`unknown query parameter "${name}" (allowed: ${allowed.join(', ') || 'none'})`);
  }
}

function collection(ctx: HttpContext, request: HttpRequest) {
  return collectionService(ctx).collection(param(request, 'collection'));
}

export const createCollection: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['name', 'mode', 'partitions', 'fsync']);
  if (typeof b.name !== 'string') invalid('"name" (the collection name, a string) is required');
  const info = await collectionService(ctx).create(b.name, {
    mode: b.mode as never,
    ...(b.partitions === undefined ? {} : { partitions: b.partitions as number }),
    ...(b.fsync === undefined ? {} : { fsync: b.fsync as never }),
  });
  sendJson(request.res, 201, info, { location: `/v1/collections/${encodeURIComponent(info.name)}` });
};

export const listCollections: Handler = async (ctx, request) => {
  onlyQuery(request, []);
  sendJson(request.res, 200, { collections: collectionService(ctx).list() });
};

export const describeCollection: Handler = async (ctx, request) => {
  sendJson(request.res, 200, collectionService(ctx).describe(param(request, 'collection')));
};

export const deleteCollection: Handler = async (ctx, request) => {
  await collectionService(ctx).delete(param(request, 'collection'));
  sendNoContent(request.res);
};

export const getItem: Handler = async (ctx, request) => {
  onlyQuery(request, ['consistency']);
  const c = collection(ctx, request);
  const key = param(request, 'key');
  const result = await c.get(key, consistencyOf(request.query.get('consistency') ?? undefined));
  if (result.value === null) {
    throw new TributaryError('NOT_FOUND', { what: `key "${key}" of collection "${c.info.name}"` });
  }
  sendJson(request.res, 200, result, { etag: `"${result.version}"` });
};

/** `GET …/items/{key}/history?limit=N`: the key's versions still in the log, newest first. */
export const itemHistory: Handler = async (ctx, request) => {
  onlyQuery(request, ['limit']);
  const text = request.query.get('limit');
  const limit = text === null ? HISTORY_LIMITS.versionsDefault : parseNonNegativeInt(text, 'limit');
  const key = checkKey(param(request, 'key'));
  sendJson(request.res, 200, await collection(ctx, request).history(key, checkHistoryLimit(limit)));
};

/** `op` is checked already: its key, document and version each once, by the handler. */
async function write(ctx: HttpContext, request: HttpRequest, op: WriteOp): Promise<void> {
  const result = await collection(ctx, request).write(op);
  sendJson(request.res, 200, result);
}

function ifVersionOf(value: unknown): { ifVersion?: number } {
  return value === undefined || value === null ? {} : { ifVersion: checkVersion(value, 'ifVersion') };
}

export const putItem: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['value', 'ifVersion']);
  const key = checkKey(param(request, 'key'), 'request.key');
  await write(ctx, request, {
    op: 'put',
    key,
    value: checkDocument(b.value, 'value'),
    ...ifVersionOf(b.ifVersion),
  });
};

export const patchItem: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['fields', 'ifVersion']);
  const key = checkKey(param(request, 'key'), 'request.key');
  await write(ctx, request, {
    op: 'patch',
    key,
    fields: checkDocument(b.fields, 'fields'),
    ...ifVersionOf(b.ifVersion),
  });
};

export const deleteItem: Handler = async (ctx, request) => {
  onlyQuery(request, ['ifVersion']);
  const text = request.query.get('ifVersion');
  const ifVersion = text === null ? {} : ifVersionOf(/^-?\d{1,16}$/.test(text) ? Number(text) : text);
  await write(ctx, request, {
    op: 'delete',
    key: checkKey(param(request, 'key'), 'request.key'),
    ...ifVersion,
  });
};

export const incrementItem: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['field', 'by', 'ifVersion']);
  await write(
    ctx,
    request,
    checkWriteOp(
      { op: 'increment', key: param(request, 'key'), field: b.field, by: b.by, ...ifVersionOf(b.ifVersion) },
      'request',
    ),
  );
};

export const transact: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['ops', 'conditions']);
  sendJson(request.res, 200, await collection(ctx, request).transact(checkTransact(b)));
};

export const applyOps: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['ops']);
  if (!Array.isArray(b.ops) || b.ops.length === 0)
    invalid('ops must be a non-empty array of CRDT operations');
  const ops = b.ops.map((op) => decodeOperation(op));
  sendJson(request.res, 200, { writes: await collection(ctx, request).applyOperations(ops) });
};

export const queryItems: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['where', 'keyPrefix', 'orderBy', 'limit', 'consistency']);
  const { consistency, ...query } = b;
  const result = await collection(ctx, request).query(
    checkQuery(query, 'query'),
    consistencyOf(consistency) ?? 'local',
  );
  sendJson(request.res, 200, result);
};
