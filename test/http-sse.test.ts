/**
 * Black-box tests of the Server-Sent Events endpoint (`GET /v1/topics/{topic}/events`) against a
 * real server: live delivery, exact resume with Last-Event-ID, bounded memory for a reader that
 * stops reading, and the `reset` event when retention removed the history a resume needs.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  call,
  createTopic,
  type ErrorJson,
  EventStreamReader,
  metricValue,
  produce,
  sleep,
  start,
  type TestServer,
  tempDir,
} from './http-helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: TestServer;
let base: string;
const readers: EventStreamReader[] = [];

async function open(path: string, headers: Record<string, string> = {}): Promise<EventStreamReader> {
  const reader = await EventStreamReader.open(`${base}${path}`, headers);
  readers.push(reader);
  return reader;
}

beforeEach(async () => {
  dir = await tempDir('tributary-sse-');
  server = await start(dir.path);
  base = server.url;
});

afterEach(async () => {
  for (const reader of readers.splice(0)) reader.close();
  await server.close();
  await dir.remove();
});

describe('SSE', () => {
  it('delivers records live, with ids, in offset order per partition', async () => {
    await createTopic(base, 'live', { partitions: 1 });
    await produce(base, 'live', [{ value: 'before' }]);
    const stream = await open('/v1/topics/live/events?partition=0');
    expect(stream.status).toBe(200);
    expect(stream.response.headers['content-type']).toMatch(/^text\/event-stream/);
    await stream.until(() => stream.named('ready').length === 1, 5000, 'ready');
    const ready = stream.named('ready')[0]!;
    expect(JSON.parse(ready.data)).toEqual({ topic: 'live', partitions: [{ partition: 0, offset: 1 }] });
    expect(ready.id).toBe('0'); // default from=latest: after offset 0

    await produce(base, 'live', [{ key: 'a', value: { n: 1 } }, { value: [2] }]);
    const records = await stream.records(2);
    expect(records.map((r) => [r.offset, r.value])).toEqual([
      [1, { n: 1 }],
      [2, [2]],
    ]);
    expect(records[0]).toMatchObject({ topic: 'live', partition: 0, key: 'a', headers: {} });
    expect(stream.named('record').map((e) => e.id)).toEqual(['1', '2']);
    expect(await metricValue(base, 'tributary_records_out_total', 'frontend="sse"')).toBe(2);
    expect(await metricValue(base, 'tributary_connections', 'frontend="sse"')).toBe(1);
  });

  it('multiplexes all partitions with vector ids and replays from earliest', async () => {
    await createTopic(base, 'multi', { partitions: 3 });
    await produce(
      base,
      'multi',
      Array.from({ length: 9 }, (_, i) => ({ value: i, partition: i % 3 })),
    );
    const stream = await open('/v1/topics/multi/events?from=earliest');
    const records = await stream.records(9);
    for (const partition of [0, 1, 2]) {
      expect(records.filter((r) => r.partition === partition).map((r) => r.offset)).toEqual([0, 1, 2]);
    }
    expect(stream.named('ready')[0]?.id).toBe('0:-1,1:-1,2:-1');
    const lastId = stream.named('record').at(-1)?.id;
    expect(lastId).toBe('0:2,1:2,2:2');
  });

  it('starts from an explicit offset on every partition', async () => {
    await createTopic(base, 'from', { partitions: 2 });
    await produce(
      base,
      'from',
      Array.from({ length: 6 }, (_, i) => ({ value: i, partition: i % 2 })),
    );
    const stream = await open('/v1/topics/from/events?from=2');
    const records = await stream.records(2);
    expect(records.map((r) => [r.partition, r.offset]).sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
  });

  it('resumes after Last-Event-ID with no gap and no duplicate (one partition)', async () => {
    await createTopic(base, 'resume');
    await produce(
      base,
      'resume',
      Array.from({ length: 20 }, (_, i) => ({ value: i })),
    );
    const first = await open('/v1/topics/resume/events?from=earliest&partition=0');
    await first.records(8);
    const cut = first.named('record')[7]!;
    first.close();
    expect(cut.id).toBe('7');

    // Records arrive while the client is away.
    await produce(
      base,
      'resume',
      Array.from({ length: 5 }, (_, i) => ({ value: 20 + i })),
    );
    const second = await open('/v1/topics/resume/events?from=earliest&partition=0', {
      'Last-Event-ID': cut.id!,
    });
    const records = await second.records(17);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 17 }, (_, i) => 8 + i));
    await sleep(100);
    expect(second.named('record')).toHaveLength(17);
    expect(second.named('reset')).toHaveLength(0);
  });

  it('resumes a multi-partition stream from its vector id, each partition exactly after its offset', async () => {
    await createTopic(base, 'vec', { partitions: 2 });
    await produce(
      base,
      'vec',
      Array.from({ length: 10 }, (_, i) => ({ value: i, partition: i % 2 })),
    );
    const first = await open('/v1/topics/vec/events?from=earliest');
    await first.records(10);
    const seen = first.named('record')[3]!; // some prefix of the interleaving
    const seenRecords = first
      .named('record')
      .slice(0, 4)
      .map((e) => JSON.parse(e.data) as { partition: number; offset: number });
    first.close();

    const second = await open('/v1/topics/vec/events?from=latest', { 'Last-Event-ID': seen.id! });
    const rest = await second.records(6);
    const all = [...seenRecords, ...rest].map((r) => `${r.partition}:${r.offset}`).sort();
    expect(all).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4', '1:0', '1:1', '1:2', '1:3', '1:4']);

    // The same id also works as ?lastEventId= (for EventSource users resuming after a page load).
    const third = await open(`/v1/topics/vec/events?lastEventId=${encodeURIComponent(seen.id!)}`);
    expect((await third.records(6)).length).toBe(6);
  });

  it('resumes at the ready id when nothing was delivered (from=latest does not skip)', async () => {
    await createTopic(base, 'idle');
    const first = await open('/v1/topics/idle/events');
    await first.until(() => first.named('ready').length === 1, 5000, 'ready');
    const readyId = first.named('ready')[0]!.id!;
    first.close();
    await produce(base, 'idle', [{ value: 'while away' }]);
    const second = await open('/v1/topics/idle/events', { 'Last-Event-ID': readyId });
    const [record] = await second.records(1);
    expect(record?.value).toBe('while away');
  });

  it('answers typed errors before the stream starts', async () => {
    await createTopic(base, 'e', { partitions: 2 });
    const expectError = async (path: string, status: number, code: string, headers = {}): Promise<void> => {
      const response = await fetch(`${base}${path}`, { headers });
      expect(response.status).toBe(status);
      expect(((await response.json()) as ErrorJson).error.code).toBe(code);
    };
    await expectError('/v1/topics/none/events', 404, 'TOPIC_NOT_FOUND');
    await expectError('/v1/topics/e/events?partition=7', 404, 'PARTITION_NOT_FOUND');
    await expectError('/v1/topics/e/events?from=yesterday', 400, 'INVALID_ARGUMENT');
    await expectError('/v1/topics/e/events?partition=x', 400, 'INVALID_ARGUMENT');
    await expectError('/v1/topics/e/events?frm=earliest', 400, 'INVALID_ARGUMENT');
    await expectError('/v1/topics/e/events', 400, 'INVALID_ARGUMENT', { 'Last-Event-ID': '5' }); // bare on 2 partitions
    await expectError('/v1/topics/e/events', 400, 'INVALID_ARGUMENT', { 'Last-Event-ID': '0:1,9:2' });
    await expectError('/v1/topics/e/events', 400, 'INVALID_ARGUMENT', { 'Last-Event-ID': 'garbage' });
  });

  it('refuses a start past the next offset with 416 OFFSET_OUT_OF_RANGE; the tail and Last-Event-ID next-1 are valid', async () => {
    await createTopic(base, 'end', { partitions: 2 });
    await produce(
      base,
      'end',
      Array.from({ length: 4 }, (_, i) => ({ value: i, partition: 0 })),
    ); // partition 0: next 4; partition 1: next 0
    const refused = async (path: string, headers: Record<string, string> = {}): Promise<void> => {
      const response = await fetch(`${base}${path}`, { headers });
      expect(response.status).toBe(416);
      const body = (await response.json()) as ErrorJson;
      expect(body.error.code).toBe('OFFSET_OUT_OF_RANGE');
      expect(body.error.message).toContain('next 4');
    };
    // Last-Event-ID = last delivered offset: 5 would resume at 6, skipping 4 and 5.
    await refused('/v1/topics/end/events?partition=0', { 'Last-Event-ID': '5' });
    await refused('/v1/topics/end/events?partition=0', { 'Last-Event-ID': '4' });
    await refused('/v1/topics/end/events?lastEventId=0:4,1:-1');
    await refused('/v1/topics/end/events?partition=0&from=5');
    await refused('/v1/topics/end/events?from=1000');

    // Last-Event-ID 3 = next-1: caught up, resumes at 4 and gets 4 and 5 when they come.
    const caughtUp = await open('/v1/topics/end/events?partition=0', { 'Last-Event-ID': '3' });
    const tail = await open('/v1/topics/end/events?partition=0&from=4');
    await caughtUp.until(() => caughtUp.named('ready').length === 1, 5000, 'ready');
    await tail.until(() => tail.named('ready').length === 1, 5000, 'ready');
    await produce(base, 'end', [
      { value: 4, partition: 0 },
      { value: 5, partition: 0 },
    ]);
    expect((await caughtUp.records(2)).map((r) => r.offset)).toEqual([4, 5]);
    expect((await tail.records(2)).map((r) => r.offset)).toEqual([4, 5]);
    expect(caughtUp.named('reset')).toHaveLength(0);
  });

  it('ends the stream with an error event when the topic is deleted', async () => {
    await createTopic(base, 'gone');
    const stream = await open('/v1/topics/gone/events');
    await stream.until(() => stream.named('ready').length === 1, 5000, 'ready');
    expect((await call(base, 'DELETE', '/v1/topics/gone')).status).toBe(204);
    await stream.untilEnded();
    const [error] = stream.named('error');
    expect((JSON.parse(error!.data) as ErrorJson).error.code).toBe('TOPIC_NOT_FOUND');
  });

  it('paces a reader that stops reading instead of buffering without bound', async () => {
    await server.close();
    server = await start(dir.path, { sseCreditRecords: 16 });
    base = server.url;
    await createTopic(base, 'flood');
    const stream = await open('/v1/topics/flood/events?from=earliest');
    await stream.until(() => stream.named('ready').length === 1, 5000, 'ready');
    stream.response.pause(); // stop reading: the kernel buffers fill, then the server's socket backs up

    const value = 'v'.repeat(8 * 1024);
    const total = 4000; // ~32 MiB of events: far more than socket buffers hold
    for (let i = 0; i < total; i += 500) {
      await produce(
        base,
        'flood',
        Array.from({ length: 500 }, (_, j) => ({ value: `${i + j}:${value}` })),
      );
    }
    // Wait until the server stops writing (socket buffers full), then look at what it sent.
    let outWhilePaused = -1;
    for (let i = 0; i < 30; i++) {
      await sleep(300);
      const out = await metricValue(base, 'tributary_records_out_total', 'frontend="sse"');
      if (out === outWhilePaused) break;
      outWhilePaused = out;
    }
    // What left the broker is bounded by socket buffers plus the credit, not by what was produced.
    expect(outWhilePaused).toBeGreaterThan(0);
    expect(outWhilePaused).toBeLessThan(total / 2);

    // Reading again, everything arrives, in order, exactly once.
    stream.response.resume();
    const records = await stream.records(total, 30_000);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('sends a reset event when retention removed the history a resume needs, then continues', async () => {
    await server.close();
    server = await start(dir.path, { maintenanceIntervalMs: 50 });
    base = server.url;
    await createTopic(base, 'short', { segmentBytes: 4096, retentionBytes: 4096 });
    const value = 'r'.repeat(500);
    for (let i = 0; i < 40; i += 10) {
      await produce(
        base,
        'short',
        Array.from({ length: 10 }, (_, j) => ({ value: `${i + j}:${value}` })),
      );
    }
    // Wait until background retention deleted the oldest segments and is done (it deletes one
    // segment at a time, so `earliest` may still move between two reads).
    const earliestNow = async (): Promise<number> => {
      const topic = await call<{ partitions: { earliest: number }[] }>(base, 'GET', '/v1/topics/short');
      return topic.body.partitions[0]?.earliest ?? 0;
    };
    let earliest = 0;
    for (let i = 0; i < 100; i++) {
      const seen = await earliestNow();
      if (seen > 0 && seen === earliest) break;
      earliest = seen;
      await sleep(150);
    }
    expect(earliest).toBeGreaterThan(1);

    const stream = await open('/v1/topics/short/events?partition=0', { 'Last-Event-ID': '0' });
    await stream.until(() => stream.named('reset').length === 1, 5000, 'reset');
    const reset = stream.named('reset')[0]!;
    expect(JSON.parse(reset.data)).toMatchObject({ partition: 0, requested: 1, offset: earliest });
    expect(reset.id).toBe(String(earliest - 1));
    const records = await stream.records(40 - earliest);
    expect(records[0]?.offset).toBe(earliest);
    expect(records.map((r) => r.offset)).toEqual(
      Array.from({ length: 40 - earliest }, (_, i) => earliest + i),
    );
    // An explicit start offset that is gone is reported the same way.
    const fromZero = await open('/v1/topics/short/events?from=0');
    await fromZero.until(() => fromZero.named('reset').length === 1, 5000, 'reset');
    expect(JSON.parse(fromZero.named('reset')[0]!.data)).toMatchObject({ partition: 0, requested: 0 });
    expect((await fromZero.records(1))[0]?.offset).toBeGreaterThanOrEqual(earliest);

    // The reset comes before any record: the client never sees a silent gap.
    expect(stream.events.findIndex((e) => e.event === 'reset')).toBeLessThan(
      stream.events.findIndex((e) => e.event === 'record'),
    );
  });

  it('counts every kind of SSE stream against sseStreamsMax together', async () => {
    await server.close();
    server = await start(dir.path, { sseStreamsMax: 2 });
    base = server.url;
    await createTopic(base, 'capped');
    const events = await open('/v1/stream-events');
    expect(events.status).toBe(200);
    const records = await open('/v1/topics/capped/events');
    expect(records.status).toBe(200);
    // A third stream of either kind is refused, whichever route the other two came through.
    for (const path of ['/v1/topics/capped/events', '/v1/stream-events']) {
      const refused = await fetch(`${base}${path}`, { headers: { accept: 'text/event-stream' } });
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ error: { code: 'RESOURCE_EXHAUSTED' } });
    }
    // Closing one makes room again.
    records.close();
    await records.untilEnded().catch(() => undefined);
    await sleep(100);
    const again = await open('/v1/topics/capped/events');
    expect(again.status).toBe(200);
  });

  it('ends open streams on server close, which completes', async () => {
    await createTopic(base, 'bye');
    const stream = await open('/v1/topics/bye/events');
    await stream.until(() => stream.named('ready').length === 1, 5000, 'ready');
    const started = Date.now();
    await server.close();
    await stream.untilEnded();
    expect(Date.now() - started).toBeLessThan(3000);
    server = await start(dir.path); // for afterEach
    base = server.url;
  });
});
