/**
 * Stateless steps, session windows, window joins, distinct, top-N and table lookups, run by a `Task` over
 * hand-made records (no server): results, the late-event rule, merging sessions, and a task
 * restored from its changelog halfway giving the same results as one that never stopped.
 */
import { describe, expect, it } from 'vitest';
import type { ConsumerRecord } from '../client/records.js';
import type { Item } from './operators.js';
import { type PipelineDefinition, pipeline, stream, topic } from './pipeline.js';
import { changes } from './sources.js';
import { Task } from './task.js';
import { hopping, session, tumbling } from './windows.js';

const ENCODER = new TextEncoder();

interface Ev {
  readonly k: string;
  readonly t: number;
  readonly side?: 'l' | 'r';
  readonly n?: number;
}

function records(events: readonly Ev[], from = 0): ConsumerRecord[] {
  return events.map((e, i) => ({
    topic: 'in',
    partition: 0,
    offset: from + i,
    timestamp: e.t,
    key: ENCODER.encode(e.k),
    value: ENCODER.encode(JSON.stringify(e)),
    headers: [],
  }));
}

const source = () => topic<Ev>('in', { eventTime: (e) => e.t });

function run(definition: PipelineDefinition, events: readonly Ev[]): { out: Item[]; task: Task } {
  const task = new Task(definition, 0);
  return { out: task.process(records(events)), task };
}

/** Runs `events` in two tasks: the second restored from the first's changelog after `split` events. */
function runRestored(definition: PipelineDefinition, events: readonly Ev[], split: number): Item[] {
  const first = new Task(definition, 0);
  const out = [...first.process(records(events.slice(0, split)))];
  const changelog = first.drainChangelog();
  const second = new Task(definition, 0);
  for (const [index, entries] of changelog) {
    for (const e of entries) second.store(index)!.restore(e.key, e.value);
  }
  second.restored(JSON.parse(JSON.stringify(first.meta)));
  out.push(...second.process(records(events.slice(split), split)));
  return out;
}

const sessions = (lateness = 0) =>
  pipeline('s')
    .from(source())
    .keyBy((e) => e.k)
    .window(session(100), { lateness })
    .aggregate({ init: () => [] as number[], add: (a, e) => [...a, e.t], merge: (a, b) => [...a, ...b] })
    .to(topic('out'));

describe('session windows', () => {
  it('groups a key’s events closer than the gap and closes a session gap after its last event', () => {
    const { out } = run(sessions(), [
      { k: 'a', t: 0 },
      { k: 'a', t: 50 },
      { k: 'b', t: 60 },
      { k: 'a', t: 149 },
      { k: 'a', t: 300 }, // 300 ≥ 149 + 100: a new session; watermark 300 closes [0, 249) and b's [60, 160)
      { k: 'a', t: 1_000 },
    ]);
    expect(out.map((i) => i.value)).toEqual([
      { key: 'b', start: 60, end: 160, value: [60] },
      { key: 'a', start: 0, end: 249, value: [0, 50, 149] },
      { key: 'a', start: 300, end: 400, value: [300] },
    ]);
    expect(out.map((i) => i.key)).toEqual(['b@60', 'a@0', 'a@300']);
  });

  it('merges two open sessions when a late event bridges them; drops an event whose session has closed', () => {
    const { out, task } = run(sessions(1_000), [
      { k: 'a', t: 0 },
      { k: 'a', t: 180 }, // a second session: 180 − 0 ≥ gap
      { k: 'a', t: 90 }, // closer than the gap to both: one session [0, 280)
      { k: 'a', t: 2_000 }, // watermark 1 000 closes it
      { k: 'a', t: 500 }, // its session [500, 600) ends before the watermark, touches no open one: late
      { k: 'a', t: 1_950 }, // joins the open session of 2 000
      { k: 'z', t: 10_000 },
    ]);
    expect(out.map((i) => i.value)).toEqual([
      { key: 'a', start: 0, end: 280, value: [0, 180, 90] },
      { key: 'a', start: 1_950, end: 2_100, value: [2_000, 1_950] },
    ]);
    expect(task.meta.late).toBe(1);
  });

  it('closes each task’s sessions by its own watermark (one step object serves every task)', () => {
    const definition = sessions();
    const a = new Task(definition, 0);
    const b = new Task(definition, 1);
    expect(a.process(records([{ k: 'a', t: 0 }]))).toEqual([]);
    expect(b.process(records([{ k: 'b', t: 0 }]))).toEqual([]);
    expect(a.process(records([{ k: 'a', t: 1_000 }], 1)).map((i) => i.key)).toEqual(['a@0']);
    expect(b.process(records([{ k: 'b', t: 1_000 }], 1)).map((i) => i.key)).toEqual(['b@0']);
  });

  it('needs merge, and gives the same results when restored from its changelog halfway', () => {
    expect(() =>
      pipeline('x')
        .from(source())
        .keyBy((e) => e.k)
        .window(session(10))
        .aggregate({ init: () => 0, add: (n) => n + 1 }),
    ).toThrow(/merge/);
    const events: Ev[] = [];
    for (let i = 0; i < 200; i++) events.push({ k: `k${i % 3}`, t: i * 37 - (i % 7 === 0 ? 150 : 0) });
    events.push({ k: 'end', t: 1e9 });
    const whole = run(sessions(120), events).out;
    expect(whole.length).toBeGreaterThan(10);
    for (const split of [1, 50, 133]) expect(runRestored(sessions(120), events, split)).toEqual(whole);
  });
});

const joined = (spec = tumbling(100), lateness = 0) => {
  const events = source();
  const right = stream(events)
    .filter((e) => e.side === 'r')
    .keyBy((e) => e.k);
  return pipeline('j')
    .from(events)
    .filter((e) => e.side === 'l')
    .keyBy((e) => e.k)
    .window(spec, { lateness })
    .join(right, (l, r, w) => `${l.k}:${l.n}-${r.n}@${w.start}`)
    .to(topic('out'));
};

describe('window joins', () => {
  it('joins every pair of the same key in the same window, as the second of the pair arrives', () => {
    const { out } = run(joined(), [
      { k: 'a', t: 10, side: 'l', n: 1 },
      { k: 'a', t: 20, side: 'r', n: 1 },
      { k: 'b', t: 30, side: 'r', n: 2 }, // no left b
      { k: 'a', t: 40, side: 'l', n: 3 },
      { k: 'a', t: 120, side: 'r', n: 4 }, // the next window: no pair with l1, l3
      { k: 'a', t: 150, side: 'l', n: 5 },
    ]);
    expect(out.map((i) => i.value)).toEqual(['a:1-1@0', 'a:3-1@0', 'a:5-4@100']);
    expect(out.map((i) => [i.key, i.time])).toEqual([
      ['a', 20],
      ['a', 40],
      ['a', 150],
    ]);
  });

  it('expires buffered items when the window closes, counts late ones, and joins per hopping window', () => {
    const { out, task } = run(joined(tumbling(100), 10), [
      { k: 'a', t: 10, side: 'l', n: 1 },
      { k: 'a', t: 115, side: 'l', n: 2 }, // watermark 105: window [0, 100) closed
      { k: 'a', t: 90, side: 'r', n: 3 }, // late: its window is closed, l1 forgotten
    ]);
    expect(out).toEqual([]);
    expect(task.meta.late).toBe(1);
    expect(task.store(2)!.size).toBe(1);
    const hop = run(joined(hopping(100, { advance: '50ms' })), [
      { k: 'a', t: 60, side: 'l', n: 1 },
      { k: 'a', t: 90, side: 'r', n: 2 }, // both in [0, 100) and [50, 150)
    ]).out;
    expect(hop.map((i) => i.value)).toEqual(['a:1-2@0', 'a:1-2@50']);
  });

  it('gives the same output restored from its changelog halfway, and refuses a right side of another source', () => {
    const events: Ev[] = [];
    for (let i = 0; i < 300; i++) {
      events.push({ k: `k${i % 4}`, t: i * 7 + (i % 5) * 3, side: i % 3 === 0 ? 'r' : 'l', n: i });
    }
    const whole = run(joined(tumbling(100), 20), events).out;
    expect(whole.length).toBeGreaterThan(50);
    for (const split of [1, 150, 299])
      expect(runRestored(joined(tumbling(100), 20), events, split)).toEqual(whole);
    const feed = stream(changes<Ev>('docs')).keyBy((c) => c.key);
    expect(() =>
      pipeline('j')
        .from(source())
        .keyBy((e) => e.k)
        .window(tumbling(10))
        .join(feed, (l) => l),
    ).toThrow(/a join of two sources reads two topics/);
  });
});

describe('window joins of two topics', () => {
  const twoTopics = (lateness = 0) =>
    pipeline('j2')
      .from(source())
      .keyBy((e) => e.k)
      .window(tumbling(100), { lateness })
      .join(
        stream(topic<Ev>('other', { eventTime: (e) => e.t })).keyBy((e) => e.k),
        (l, r, w) => `${l.k}:${l.n}-${r.n}@${w.start}`,
      )
      .to(topic('out'));

  /** Every pair of the same key in the same 100 ms window, as a plain loop. */
  const pairs = (left: readonly Ev[], right: readonly Ev[]): string[] =>
    left
      .flatMap((l) =>
        right
          .filter((r) => r.k === l.k && Math.floor(r.t / 100) === Math.floor(l.t / 100))
          .map((r) => `${l.k}:${l.n}-${r.n}@${Math.floor(l.t / 100) * 100}`),
      )
      .sort();

  const left: Ev[] = [];
  const right: Ev[] = [];
  for (let i = 0; i < 200; i++) left.push({ k: `k${i % 3}`, t: i * 5, n: i });
  for (let i = 0; i < 100; i++) right.push({ k: `k${i % 4}`, t: i * 10 + 3, n: 1000 + i });

  it('takes the smaller of the two inputs’ watermarks: one topic read far ahead makes nothing of the other late', () => {
    const task = new Task(twoTopics(), 0);
    // All of the left topic first (up to t = 995), then all of the right one.
    const out = [...task.process(records(left))];
    expect(task.watermark).toBe(Number.NEGATIVE_INFINITY); // the right input has no event yet
    out.push(...task.processSideInput(records(right)));
    expect(task.meta.late).toBe(0);
    expect(out.map((i) => i.value as string).sort()).toEqual(pairs(left, right));
    expect(out.length).toBeGreaterThan(100);
    expect(task.meta.sideInput).toEqual({ position: 100, maxEventTime: 993 });
    expect(task.meta.position).toBe(200);
    // Both inputs are past 900 now: an event of either for an earlier window is late.
    expect(task.process(records([{ k: 'k0', t: 850, n: 7 }], 200))).toEqual([]);
    expect(task.processSideInput(records([{ k: 'k0', t: 10, n: 8 }], 100))).toEqual([]);
    expect(task.meta.late).toBe(2);
    // Windows closed by the watermark are gone from the state (only [900, 1000) is left).
    const open = [...task.store(1)!.entries()].map(([, v]) => (v as { s: number }).s);
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((start) => start === 900)).toBe(true);
  });

  it('gives the same output restored from its changelog and progress at any point of interleaved batches', () => {
    // Batches of 20 left and 10 right records alternate; the second task is restored after `split` batches.
    const batches: { side: 'l' | 'r'; from: number; events: Ev[] }[] = [];
    for (let b = 0; b < 10; b++) {
      batches.push({ side: 'l', from: b * 20, events: left.slice(b * 20, b * 20 + 20) });
      batches.push({ side: 'r', from: b * 10, events: right.slice(b * 10, b * 10 + 10) });
    }
    const feed = (task: Task, list: typeof batches) =>
      list.flatMap((b) =>
        b.side === 'l'
          ? task.process(records(b.events, b.from))
          : task.processSideInput(records(b.events, b.from)),
      );
    const whole = feed(new Task(twoTopics(30), 0), batches);
    expect(whole.map((i) => i.value as string).sort()).toEqual(pairs(left, right));
    for (const split of [1, 7, 12, 19]) {
      const first = new Task(twoTopics(30), 0);
      const out = feed(first, batches.slice(0, split));
      const second = new Task(twoTopics(30), 0);
      for (const [index, entries] of first.drainChangelog()) {
        for (const e of entries) second.store(index)!.restore(e.key, e.value);
      }
      second.restored(JSON.parse(JSON.stringify(first.meta)));
      // Redelivered records below the committed positions are skipped.
      out.push(...feed(second, batches.slice(Math.max(0, split - 2))));
      expect(out).toEqual(whole);
    }
  });
});

describe('stateless steps', () => {
  it('map, filter and flatMap run per value in order; flatMap emits none, one or many; keyBy sets the key', () => {
    const definition = pipeline('m')
      .from(source())
      .filter((e) => e.k !== 'skip')
      .flatMap((e) => Array.from({ length: e.n ?? 0 }, (_, i) => ({ ...e, n: i })))
      .map((e) => ({ id: `${e.k}${e.n}`, k: e.k }))
      .keyBy((v) => v.id)
      .to(topic('out'));
    const { out, task } = run(definition, [
      { k: 'a', t: 1, n: 2 },
      { k: 'skip', t: 2, n: 5 },
      { k: 'b', t: 3, n: 0 },
      { k: 'c', t: 4, n: 3 },
    ]);
    expect(out.map((i) => [i.key, i.value])).toEqual([
      ['a0', { id: 'a0', k: 'a' }],
      ['a1', { id: 'a1', k: 'a' }],
      ['c0', { id: 'c0', k: 'c' }],
      ['c1', { id: 'c1', k: 'c' }],
      ['c2', { id: 'c2', k: 'c' }],
    ]);
    // Every source record counts as processed, the filtered and the unfolded-to-nothing ones too.
    expect(task.meta.processed).toBe(4);
  });
});

describe('distinct, top-N, keyed reduce and table lookups', () => {
  it('distinct emits the first value of a key per window', () => {
    const definition = pipeline('d')
      .from(source())
      .keyBy((e) => e.k)
      .window(tumbling(100))
      .distinct()
      .map((e) => `${e.k}${e.t}`)
      .to(topic('out'));
    const { out } = run(definition, [
      { k: 'a', t: 1 },
      { k: 'a', t: 2 },
      { k: 'b', t: 3 },
      { k: 'a', t: 101 },
      { k: 'a', t: 150 },
    ]);
    expect(out.map((i) => i.value)).toEqual(['a1', 'b3', 'a101']);
  });

  it('topN keeps the n largest per window, ties in arrival order; keyed reduce runs per key', () => {
    const top = pipeline('t')
      .from(source())
      .keyBy((e) => e.k)
      .window(tumbling(100))
      .topN(2, (e) => e.n ?? 0)
      .map((w) => w.value.map((e) => e.n))
      .to(topic('out'));
    const { out } = run(top, [
      { k: 'a', t: 1, n: 5 },
      { k: 'a', t: 2, n: 9 },
      { k: 'a', t: 3, n: 5 },
      { k: 'a', t: 4, n: 7 },
      { k: 'a', t: 200, n: 1 },
    ]);
    expect(out.map((i) => i.value)).toEqual([[9, 7]]);
    expect(() =>
      pipeline('t')
        .from(source())
        .keyBy((e) => e.k)
        .window(tumbling(1))
        .topN(0, () => 1),
    ).toThrow(/topN/);
    const reduced = pipeline('r')
      .from(source())
      .keyBy((e) => e.k)
      .reduce((a, b) => ((a.n ?? 0) >= (b.n ?? 0) ? a : b))
      .map((r) => `${r.key}=${r.value.n}`)
      .to(topic('out'));
    expect(
      run(reduced, [
        { k: 'a', t: 1, n: 3 },
        { k: 'b', t: 2, n: 1 },
        { k: 'a', t: 3, n: 2 },
        { k: 'a', t: 4, n: 8 },
      ]).out.map((i) => i.value),
    ).toEqual(['a=3', 'b=1', 'a=3', 'a=8']);
  });

  it('lookup joins each value with the current document of its key (null or dropped when there is none)', () => {
    const docs = new Map<string, { price: number }>([['a', { price: 3 }]]);
    const lookup = (inner: boolean) =>
      pipeline('l')
        .from(source())
        .lookup(
          { kind: 'collection', name: 'prices', options: {} },
          {
            key: (e) => e.k,
            join: (e, doc: { price: number } | null) => `${e.k}:${doc?.price ?? '-'}`,
            inner,
          },
        )
        .to(topic('out'));
    const read = (collection: string, key: string) => (collection === 'prices' ? docs.get(key) : undefined);
    const events: Ev[] = [
      { k: 'a', t: 1 },
      { k: 'b', t: 2 },
    ];
    expect(new Task(lookup(false), 0, read).process(records(events)).map((i) => i.value)).toEqual([
      'a:3',
      'b:-',
    ]);
    docs.set('a', { price: 4 });
    expect(new Task(lookup(true), 0, read).process(records(events)).map((i) => i.value)).toEqual(['a:4']);
  });
});
