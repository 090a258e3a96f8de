/**
 * @module server/front/http/atomic
 * `POST /v1/commit`: appends to several topics and partitions plus consumer-offset commits, all
 * or nothing (`Broker.commitAtomically`), answered once the decision is durable. The records are
 * those of `POST /v1/topics/{topic}/records` (`codec.ts`); `docs/http-api.md`, "Atomic commits".
 *
 * @example
 * // curl localhost:7700/v1/commit --json '{"appends":[{"topic":"out","records":[{"value":1}]}],
 * //   "offsets":{"groupId":"job","offsets":[{"topic":"in","partition":0,"offset":8}]}}'
 */
import { performance } from 'node:perf_hooks';
import type { AtomicAppend, CommittedOffset } from '../../../broker/types.js';
import { isTributaryError, TributaryError } from '../../../errors.js';
import { readJsonBody } from './body.js';
import { produceRecordFromJson } from './codec.js';
import { expectObject, type Handler } from './context.js';
import { pause, quotaOf } from './quota.js';
import { sendJson } from './respond.js';

const BODY_FIELDS = ['appends', 'offsets'];
const APPEND_FIELDS = ['topic', 'partition', 'records'];
const OFFSETS_FIELDS = ['groupId', 'offsets'];

function invalid(reason: string): TributaryError {
  return new TributaryError('INVALID_ARGUMENT', { reason });
}

function onlyFields(object: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const field of Object.keys(object)) {
    if (!allowed.includes(field)) {
      throw invalid(`${where}unknown field "${field}" (allowed: ${allowed.join(', ')})`);
    }
  }
}

function nonNegativeInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${what} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function readAppend(json: unknown, index: number, recordsMax: number): AtomicAppend {
  const where = `appends[${index}]`;
  const append = expectObject(json, where);
  onlyFields(append, APPEND_FIELDS, `${where}: `);
  if (typeof append.topic !== 'string') throw invalid(`${where}.topic must be a string`);
  const records = append.records;
  if (!Array.isArray(records) || records.length === 0) {
    throw new TributaryError('INVALID_RECORD', { reason: `${where}.records must be a non-empty array` });
  }
  if (records.length > recordsMax) throw tooMany(records.length, recordsMax);
  const inputs = records.map((record: unknown, i) => {
    try {
      return produceRecordFromJson(record, i);
    } catch (error) {
      if (!isTributaryError(error, 'INVALID_RECORD')) throw error;
      throw new TributaryError('INVALID_RECORD', { reason: `${where}.${String(error.details.reason)}` });
    }
  });
  return {
    topic: append.topic,
    ...(append.partition === undefined
      ? {}
      : { partition: nonNegativeInt(append.partition, `${where}.partition`) }),
    records: inputs,
  };
}

function readOffsets(json: unknown): { groupId: string; offsets: CommittedOffset[] } {
  const offsets = expectObject(json, 'offsets');
  onlyFields(offsets, OFFSETS_FIELDS, 'offsets: ');
  if (typeof offsets.groupId !== 'string') throw invalid('offsets.groupId must be a string');
  if (!Array.isArray(offsets.offsets)) throw invalid('offsets.offsets must be an array');
  return {
    groupId: offsets.groupId,
    offsets: offsets.offsets.map((entry: unknown, i) => {
      const where = `offsets.offsets[${i}]`;
      const o = expectObject(entry, where);
      onlyFields(o, ['topic', 'partition', 'offset'], `${where}: `);
      if (typeof o.topic !== 'string') throw invalid(`${where}.topic must be a string`);
      return {
        topic: o.topic,
        partition: nonNegativeInt(o.partition, `${where}.partition`),
        offset: nonNegativeInt(o.offset, `${where}.offset`),
      };
    }),
  };
}

function tooMany(count: number, limit: number): TributaryError {
  return new TributaryError('RECORD_TOO_LARGE', {
    bytes: count,
    limit,
    limitName: 'httpProduceRecordsMax (records, not bytes)',
  });
}

export const commitAtomically: Handler = async (ctx, request) => {
  const started = performance.now();
  const { value, bytes } = await readJsonBody(request.req, ctx.limits);
  ctx.metrics.bytesIn.inc({ frontend: 'http' }, bytes);
  const body = expectObject(value, 'The request body');
  onlyFields(body, BODY_FIELDS, '');
  if (!Array.isArray(body.appends) || body.appends.length === 0) {
    throw invalid('"appends" must be a non-empty array');
  }
  const recordsMax = ctx.limits.httpProduceRecordsMax;
  const appends = body.appends.map((a: unknown, i) => readAppend(a, i, recordsMax));
  const count = appends.reduce((n, a) => n + a.records.length, 0);
  if (count > recordsMax) throw tooMany(count, recordsMax);
  const offsets = body.offsets === undefined ? undefined : readOffsets(body.offsets);
  let throttleMs = 0;
  if (ctx.quotas !== undefined) {
    await pause(quotaOf(ctx, request)?.produceThrottleMs() ?? 0);
    let recordBytesTotal = 0;
    for (const append of appends)
      for (const r of append.records)
        recordBytesTotal += (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0);
    throttleMs = quotaOf(ctx, request)?.recordProduce(recordBytesTotal) ?? 0;
  }
  const result = await ctx.broker.commitAtomically({
    appends,
    ...(offsets === undefined ? {} : { offsets }),
  });
  ctx.metrics.recordsIn.inc({ frontend: 'http' }, count);
  ctx.metrics.appendLatency.observe({ frontend: 'http' }, (performance.now() - started) / 1000);
  await pause(throttleMs);
  sendJson(request.res, 200, {
    appends: result.appends.map((a) => ({
      topic: a.topic,
      offsets: a.offsets.map(({ partition, offset }) => ({ partition, offset })),
    })),
  });
};
