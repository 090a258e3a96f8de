import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.js';
import { createMemoryLog } from './memory/memory-log.js';
import { tail } from './tail.js';
import type { Log, LogRecord } from './types.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function withTopic(partitions = 1): Promise<Log> {
  const log = createMemoryLog();
  await log.createTopic('t', { partitions });
  return log;
}

async function append(log: Log, ...values: string[]): Promise<void> {
  await log.append(
    't',
    0,
    values.map((value) => ({ key: null, value: enc(value) })),
  );
}

/** Pulls batches until `count` records arrived. */
async function take(iterator: AsyncIterator<LogRecord[]>, count: number): Promise<LogRecord[][]> {
  const batches: LogRecord[][] = [];
  let seen = 0;
  while (seen < count) {
    const step = await iterator.next();
    if (step.done) throw new Error('tail ended early');
    batches.push(step.value);
    seen += step.value.length;
  }
  return batches;
}

describe('tail', () => {
  it('yields existing records, then new ones as they are appended', async () => {
    const log = await withTopic();
    await append(log, 'a', 'b');
    const controller = new AbortController();
    const iterator = tail(log, 't', 0, 0, { signal: controller.signal });
    const [first] = await take(iterator, 2);
    expect(first?.map((r) => [r.offset, dec(r.value)])).toEqual([
      [0, 'a'],
      [1, 'b'],
    ]);
    const pending = iterator.next();
    await sleep(20);
    await append(log, 'c');
    const step = await pending;
    expect(step.done).toBe(false);
    expect(step.value?.map((r: LogRecord) => r.offset)).toEqual([2]);
    controller.abort();
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('starts at fromOffset and never yields an empty batch', async () => {
    const log = await withTopic();
    await append(log, 'a', 'b', 'c', 'd');
    const controller = new AbortController();
    const iterator = tail(log, 't', 0, 2, { signal: controller.signal });
    const batches = await take(iterator, 2);
    expect(batches.flat().map((r) => r.offset)).toEqual([2, 3]);
    for (const batch of batches) expect(batch.length).toBeGreaterThan(0);
    controller.abort();
  });

  it('respects maxRecords and delivers every record exactly once, in order', async () => {
    const log = await withTopic();
    const controller = new AbortController();
    const received: number[] = [];
    const consumer = (async () => {
      for await (const batch of tail(log, 't', 0, 0, { signal: controller.signal, maxRecords: 3 })) {
        expect(batch.length).toBeGreaterThan(0);
        expect(batch.length).toBeLessThanOrEqual(3);
        received.push(...batch.map((r) => r.offset));
        if (received.length === 50) controller.abort();
      }
    })();
    for (let i = 0; i < 10; i++) {
      await append(log, ...Array.from({ length: 5 }, (_, j) => `${i}:${j}`));
      if (i % 3 === 0) await sleep(2);
    }
    await consumer;
    expect(received).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('ends cleanly when aborted while waiting', async () => {
    const log = await withTopic();
    const controller = new AbortController();
    const iterator = tail(log, 't', 0, 0, { signal: controller.signal });
    const pending = iterator.next();
    await sleep(10);
    controller.abort(new Error('bye'));
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('ends at once when the signal is already aborted', async () => {
    const log = await withTopic();
    await append(log, 'a');
    const iterator = tail(log, 't', 0, 0, { signal: AbortSignal.abort() });
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('wakes on the append itself, not by polling', async () => {
    const log = await withTopic();
    const iterator = tail(log, 't', 0, 0, { signal: new AbortController().signal });
    const pending = iterator.next();
    await sleep(30);
    const appended = Date.now();
    await append(log, 'x');
    await pending;
    expect(Date.now() - appended).toBeLessThan(30);
    await iterator.return(undefined);
  });

  it('throws TOPIC_NOT_FOUND when the topic is deleted while tailing', async () => {
    const log = await withTopic();
    const iterator = tail(log, 't', 0, 0);
    const pending = iterator.next();
    await sleep(5);
    await log.deleteTopic('t');
    const error = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTributaryError(error, 'TOPIC_NOT_FOUND')).toBe(true);
  });

  it('throws LOG_CLOSED when the log closes while tailing', async () => {
    const log = await withTopic();
    const iterator = tail(log, 't', 0, 0);
    const pending = iterator.next();
    await sleep(5);
    await log.close();
    await expect(pending).rejects.toMatchObject({ code: 'LOG_CLOSED' });
  });

  it('skips offsets that no longer exist instead of spinning', async () => {
    // Offsets 1..4 are gone (as compaction could leave them): reads from there find nothing.
    const inner = await withTopic();
    await append(inner, 'a', 'b', 'c', 'd', 'e');
    let reads = 0;
    const hiding = new Proxy(inner, {
      get(target, property) {
        if (property === 'read') {
          return async (...args: Parameters<Log['read']>) => {
            reads++;
            return (await target.read(...args)).filter((r) => r.offset === 0 || r.offset >= 5);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const controller = new AbortController();
    const iterator = tail(hiding, 't', 0, 1, { signal: controller.signal });
    const pending = iterator.next();
    await sleep(20);
    expect(reads).toBeLessThanOrEqual(3);
    await append(inner, 'f');
    const step = await pending;
    expect(step.value?.map((r: LogRecord) => r.offset)).toEqual([5]);
    controller.abort();
  });
});
