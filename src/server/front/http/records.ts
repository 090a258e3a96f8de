/**
 * @module server/front/http/records
 * Record resource: `POST /v1/topics/{topic}/records` (produce, answered once durable) and
 * `GET /v1/topics/{topic}/partitions/{partition}/records?offset=N&max=M` (fetch). The JSON
 * shape of a record is described in `codec.ts` and `docs/http-api.md`.
 *
 * @example
 * // curl -X POST localhost:7700/v1/topics/orders/records -d '{"records":[{"key":"o-1","value":{"qty":2}}]}'
 * // curl 'localhost:7700/v1/topics/orders/partitions/0/records?offset=0&max=100'
 */
import { performance } from 'node:perf_hooks';
import { TributaryError } from '../../../errors.js';
import { readJsonBody } from './body.js';
import { produceRecordFromJson, recordBytes, recordToJson } from './codec.js';
import { expectObject, type Handler, param, parseNonNegativeInt } from './context.js';
import { pause, quotaOf } from './quota.js';
import { sendJson } from './respond.js';

export const produce: Handler = async (ctx, request) => {
  const started = performance.now();
  const topic = param(request, 'topic');
  const { value, bytes } = await readJsonBody(request.req, ctx.limits);
  ctx.metrics.bytesIn.inc({ frontend: 'http' }, bytes);
  const body = expectObject(value, 'The request body');
  for (const field of Object.keys(body)) {
    if (field !== 'records') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: `unknown field "${field}" (allowed: records)` });
    }
  }
  const records = body.records;
  if (!Array.isArray(records) || records.length === 0) {
    throw new TributaryError('INVALID_RECORD', { reason: '"records" must be a non-empty array' });
  }
  if (records.length > ctx.limits.httpProduceRecordsMax) {
    throw new TributaryError('RECORD_TOO_LARGE', {
      bytes: records.length,
      limit: ctx.limits.httpProduceRecordsMax,
      limitName: 'httpProduceRecordsMax (records, not bytes)',
    });
  }
  const inputs = records.map((record: unknown, index) => produceRecordFromJson(record, index));
  let throttleMs = 0;
  if (ctx.quotas !== undefined) {
    // Over the rate: append once back under it, and answer once the new debt is repaid.
    await pause(quotaOf(ctx, request)?.produceThrottleMs() ?? 0);
    let recordBytesTotal = 0;
    for (const input of inputs)
      recordBytesTotal += (input.key?.byteLength ?? 0) + (input.value?.byteLength ?? 0);
    throttleMs = quotaOf(ctx, request)?.recordProduce(recordBytesTotal) ?? 0;
  }
  const offsets = await ctx.broker.produce(topic, inputs);
  ctx.metrics.recordsIn.inc({ frontend: 'http' }, inputs.length);
  ctx.metrics.appendLatency.observe({ frontend: 'http' }, (performance.now() - started) / 1000);
  await pause(throttleMs);
  sendJson(request.res, 200, {
    offsets: offsets.map(({ partition, offset }) => ({ partition, offset })),
  });
};

export const fetchRecords: Handler = async (ctx, request) => {
  const topic = param(request, 'topic');
  const partition = parseNonNegativeInt(param(request, 'partition'), 'The partition');
  const { query } = request;
  for (const name of query.keys()) {
    if (name !== 'offset' && name !== 'timestamp' && name !== 'max' && name !== 'isolation') {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `unknown query parameter "${name}" (allowed: offset, timestamp, max, isolation)`,
      });
    }
  }
  if (query.has('offset') && query.has('timestamp')) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'give offset or timestamp, not both' });
  }
  const isolation = parseIsolation(query.get('isolation'));
  const max = optionalInt(query.get('max'), 'max') ?? ctx.limits.httpFetchRecordsMax;
  if (max < 1 || max > ctx.limits.httpFetchRecordsMax) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `max must be from 1 to ${ctx.limits.httpFetchRecordsMax} (httpFetchRecordsMax), got ${max}`,
    });
  }
  // The high watermark is taken before reading: if the read comes back empty although offsets
  // below it existed, they were all compacted away, and `next` can skip to it.
  let maxBytes = ctx.limits.httpFetchBytesMax;
  if (ctx.quotas !== undefined) {
    // Over the fetch rate: read once back under it, at most one burst of the rate.
    await pause(quotaOf(ctx, request)?.fetchThrottleMs() ?? 0);
    maxBytes = Math.min(maxBytes, quotaOf(ctx, request)?.fetchBytesMax() ?? maxBytes);
  }
  const before = await ctx.broker.offsets(topic, partition);
  const timestamp = optionalInt(query.get('timestamp'), 'timestamp');
  // By time: the first offset whose record's timestamp is at or after it (the end if none is).
  const offset =
    timestamp === undefined
      ? (optionalInt(query.get('offset'), 'offset') ?? before.earliest)
      : await ctx.broker.resolvePosition(topic, partition, { timestamp }, isolation);
  const records = await ctx.broker.fetch(topic, partition, offset, { maxRecords: max, maxBytes, isolation });
  // A committed reader's end is the last stable offset: what lies past it may still be aborted.
  const end = isolation === 'committed' ? before.lastStable : before.next;
  const last = records.at(-1);
  const next = last !== undefined ? last.offset + 1 : Math.max(offset, end);
  let bytes = 0;
  const json = records.map((record) => {
    bytes += recordBytes(record);
    return recordToJson(record, partition, undefined, ctx.limits.httpJsonDepthMax);
  });
  ctx.metrics.recordsOut.inc({ frontend: 'http' }, records.length);
  ctx.metrics.bytesOut.inc({ frontend: 'http' }, bytes);
  if (ctx.quotas !== undefined) quotaOf(ctx, request)?.recordFetch(bytes);
  sendJson(request.res, 200, { records: json, next, highWatermark: Math.max(end, next) });
};

/** The `isolation` query parameter of record reads (fetch, SSE): `uncommitted` (default) or `committed`. */
export function parseIsolation(text: string | null): 'uncommitted' | 'committed' {
  if (text === null || text === 'uncommitted') return 'uncommitted';
  if (text === 'committed') return 'committed';
  throw new TributaryError('INVALID_ARGUMENT', {
    reason: `isolation must be "uncommitted" or "committed", got "${text}"`,
  });
}

function optionalInt(text: string | null, name: string): number | undefined {
  return text === null ? undefined : parseNonNegativeInt(text, name);
}
