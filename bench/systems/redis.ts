/**
 * @module bench/systems/redis
 * Redis as a benchmark peer: `redis-server --port P --bind 127.0.0.1 --appendonly yes
 * --appendfsync everysec --dir DIR --save ''`, driven by ioredis with auto-pipelining.
 *
 * - publish: `XADD topic * v <payload>`, acknowledged by the reply. `durable` is AOF with
 *   `appendfsync everysec`; `always` switches the running server to `appendfsync always`
 *   (`CONFIG SET`) for the run and back afterwards.
 * - latency: XADD → `XREAD BLOCK` from the last id, in another process.
 * - fan-out: Redis Pub/Sub, one connection per subscriber.
 * - replay: `XRANGE` pages of 10,000 from the start.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { findBinary, LOOPBACK, waitForPort } from '../lib/procs.js';
import type { Endpoint, Publisher, ReplayResult, SystemClient, SystemModule, Target } from './types.js';

const XREAD_COUNT = 1000;
const XREAD_BLOCK_MS = 500;
const REPLAY_PAGE = 10_000;
const FILL_PIPELINE = 1000;
const FILL_IN_FLIGHT = 4;
const FIELD = 'v';

async function open(endpoint: Endpoint, autoPipelining = true): Promise<Redis> {
  const redis = new Redis({
    host: endpoint.host,
    port: endpoint.port,
    lazyConnect: true,
    enableAutoPipelining: autoPipelining,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  await redis.connect();
  return redis;
}

async function close(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}

/** ioredis sends Buffers as bytes but stringifies a plain Uint8Array ("49,58,…"): wrap without copying. */
function asBuffer(payload: Uint8Array | string): Buffer | string {
  return typeof payload === 'string' || Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

async function openPublisher(target: Target): Promise<Publisher> {
  const redis = await open(target.endpoint);
  const publish =
    target.channel === 'log'
      ? (payload: Uint8Array | string) => redis.xadd(target.topic, '*', FIELD, asBuffer(payload))
      : (payload: Uint8Array | string) => redis.publish(target.topic, asBuffer(payload));
  return {
    text: false,
    publish,
    flush: async () => {
      await redis.ping();
    },
    close: () => close(redis),
  };
}

type StreamEntries = [id: string, fields: string[]][];

/** Id of the last entry, or `0-0` for an empty / missing stream. */
async function lastId(redis: Redis, topic: string): Promise<string> {
  const last = (await redis.xrevrange(topic, '+', '-', 'COUNT', 1)) as StreamEntries;
  return last[0]?.[0] ?? '0-0';
}

async function subscribe(
  target: Target,
  from: 'latest' | 'earliest',
  onMessage: (payload: Uint8Array | string) => void,
): Promise<{ close(): Promise<void> }> {
  const redis = await open(target.endpoint, false);
  if (target.channel === 'broadcast') {
    redis.on('messageBuffer', (_channel: Buffer, message: Buffer) => onMessage(message));
    await redis.subscribe(target.topic);
    return { close: () => close(redis) };
  }
  let closed = false;
  let cursor = from === 'latest' ? await lastId(redis, target.topic) : '0-0';
  const loop = (async () => {
    while (!closed) {
      const reply = (await redis.xread(
        'COUNT',
        XREAD_COUNT,
        'BLOCK',
        XREAD_BLOCK_MS,
        'STREAMS',
        target.topic,
        cursor,
      )) as [string, StreamEntries][] | null;
      const entries = reply?.[0]?.[1];
      if (entries === undefined || entries.length === 0) continue;
      for (const [id, fields] of entries) {
        const value = fields[1];
        if (value !== undefined) onMessage(value);
        cursor = id;
      }
    }
  })().catch(() => undefined);
  return {
    close: async () => {
      closed = true;
      await loop;
      await close(redis);
    },
  };
}

async function fill(target: Target, payloads: (index: number) => Uint8Array, count: number): Promise<void> {
  const redis = await open(target.endpoint, false);
  try {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count) {
        const pipeline = redis.pipeline();
        const end = Math.min(next + FILL_PIPELINE, count);
        for (; next < end; next++) pipeline.xadd(target.topic, '*', FIELD, asBuffer(payloads(next)));
        const results = await pipeline.exec();
        const failed = results?.find(([error]) => error !== null);
        if (failed !== undefined) throw failed[0];
      }
    };
    await Promise.all(Array.from({ length: FILL_IN_FLIGHT }, lane));
  } finally {
    await close(redis);
  }
}

async function replay(target: Target, count: number): Promise<ReplayResult> {
  const redis = await open(target.endpoint, false);
  try {
    let start = '-';
    let records = 0;
    let bytes = 0;
    while (records < count) {
      const page = (await redis.xrange(
        target.topic,
        start,
        '+',
        'COUNT',
        Math.min(REPLAY_PAGE, count - records),
      )) as StreamEntries;
      if (page.length === 0) break;
      for (const [, fields] of page) bytes += fields[1]?.length ?? 0;
      records += page.length;
      start = `(${page[page.length - 1]![0]}`;
    }
    return { records, bytes };
  } finally {
    await close(redis);
  }
}

const client: SystemClient = { openPublisher, subscribe, fill, replay };

export const redis: SystemModule = {
  id: 'redis',
  label: 'redis',
  description:
    'redis-server, AOF appendfsync everysec (always for the fsync variant), Streams via ioredis (auto-pipelining); fan-out on Pub/Sub',
  capabilities: { publish: ['durable', 'always'], latency: 'log', fanout: 'broadcast', replay: true },
  async unavailable() {
    return findBinary('redis-server') === undefined
      ? 'skipped: redis-server not found (install: apt-get install redis-server)'
      : undefined;
  },
  async start(context) {
    const binary = findBinary('redis-server')!;
    const child = context.spawn('redis-server', binary, [
      '--port',
      String(context.port),
      '--bind',
      LOOPBACK,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--dir',
      context.dir,
      '--save',
      '',
      '--daemonize',
      'no',
      '--logfile',
      '',
    ]);
    await waitForPort(context.port, child);
    return child;
  },
  async prepare(target, durability) {
    if (target.channel !== 'log') return;
    const admin = await open(target.endpoint, false);
    try {
      await admin.del(target.topic);
      await admin.config('SET', 'appendfsync', durability === 'always' ? 'always' : 'everysec');
    } finally {
      await close(admin);
    }
  },
  async cleanup(target, durability) {
    if (target.channel !== 'log') return;
    const admin = await open(target.endpoint, false);
    try {
      await admin.del(target.topic);
      if (durability === 'always') await admin.config('SET', 'appendfsync', 'everysec');
    } finally {
      await close(admin);
    }
  },
  async loadClient() {
    return client;
  },
  async version() {
    const binary = findBinary('redis-server');
    if (binary === undefined) return 'not installed';
    const { stdout } = await promisify(execFile)(binary, ['--version']);
    return stdout.trim();
  },
};
