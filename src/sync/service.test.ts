import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBroker } from '../broker/broker.js';
import type { Broker } from '../broker/types.js';
import { HybridClock, patchOp, putOp } from '../crdt/index.js';
import { isTributaryError } from '../errors.js';
import { openFileLog } from '../log/file/file-log.js';
import { createMemoryLog } from '../log/memory/memory-log.js';
import type { Log } from '../log/types.js';
import { CollectionService } from './service.js';
import type { ChangesFrame, SnapshotFrame, SubscriptionSink } from './subscription.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type StoreKind = 'memory' | 'lmdb';
/** The document store the suites below run on (each suite runs once per store). */
let store: StoreKind = 'memory';

/**
 * Service options for the current store. LMDB gets tiny memory bounds so that reads, queries
 * and merges go to disk, and commits are in flight while writes go on.
 */
async function storeOptions(): Promise<Parameters<typeof CollectionService.open>[1]> {
  if (store === 'memory') return { progressMs: 50 };
  const dir = await mkdtemp(join(tmpdir(), 'tributary-sync-store-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return {
    progressMs: 50,
    checkpointDir: dir,
    checkpointIntervalMs: 0,
    storeLimits: { cachedDocumentsMax: 2, uncommittedDocumentsMax: 3 },
  };
}

async function setup(
  log: Log = createMemoryLog(),
): Promise<{ broker: Broker; service: CollectionService; log: Log }> {
  // The sync layer's view: collections live in internal `__` topics.
  const broker = (await createBroker(log)).forSystem();
  const service = await CollectionService.open(broker, await storeOptions());
  cleanups.push(async () => {
    await service.close();
    await broker.close();
    await log.close();
  });
  return { broker, service, log };
}

async function rejected(
  promise: Promise<unknown>,
): Promise<{ code: string; details: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    if (isTributaryError(error)) return { code: error.code, details: { ...error.details } };
    throw error;
  }
  throw new Error('expected a rejection');
}

class Recorder implements SubscriptionSink {
  readonly frames: (({ kind: 'snapshot' } & SnapshotFrame) | ({ kind: 'changes' } & ChangesFrame))[] = [];
  closedWith: unknown;
  snapshot(frame: SnapshotFrame): void {
    this.frames.push({ kind: 'snapshot', ...frame });
  }
  changes(frame: ChangesFrame): void {
    this.frames.push({ kind: 'changes', ...frame });
  }
  closed(error: unknown): void {
    this.closedWith = error;
  }
}

describe.each<StoreKind>(['memory', 'lmdb'])('%s store', (kind) => {
  beforeAll(() => {
    store = kind;
  });

  describe('collections: admin', () => {
    it('creates, lists, describes and deletes collections', async () => {
      const { service, broker } = await setup();
      const info = await service.create('accounts', { mode: 'strong' });
      expect(info).toMatchObject({
        name: 'accounts',
        mode: 'strong',
        partitions: 1,
        fsync: 'always',
        topic: '__collection.accounts',
      });
      await service.create('likes', { mode: 'eventual', partitions: 3 });
      expect(service.list().map((c) => c.name)).toEqual(['accounts', 'likes']);
      expect((await rejected(service.create('accounts', { mode: 'eventual' }))).code).toBe(
        'COLLECTION_EXISTS',
      );
      expect((await rejected(service.create('bad/name', { mode: 'eventual' }))).code).toBe(
        'INVALID_ARGUMENT',
      );
      expect((await rejected(service.create('x', { mode: 'weird' as never }))).code).toBe('INVALID_ARGUMENT');
      const topic = await broker.describeTopic('__collection.likes');
      expect(topic.config.compact).toBe(true);
      expect(topic.partitions).toHaveLength(3);
      await service.delete('likes');
      expect(() => service.collection('likes')).toThrow(/does not exist/);
      expect((await rejected(service.delete('likes'))).code).toBe('COLLECTION_NOT_FOUND');
    });
  });

  describe('collections: strong mode', () => {
    it('puts, gets, patches, increments and deletes with versions = offsets', async () => {
      const { service } = await setup();
      const c = service.collection((await service.create('a', { mode: 'strong' })).name);
      expect(await c.get('k')).toEqual({ key: 'k', value: null, version: -1, partition: 0 });
      const put = await c.write({ op: 'put', key: 'k', value: { n: 1, s: 'x' } });
      expect(put).toEqual({ key: 'k', partition: 0, version: 0, value: { n: 1, s: 'x' } });
      await c.write({ op: 'patch', key: 'k', fields: { s: 'y' } });
      const inc = await c.write({ op: 'increment', key: 'k', field: 'n', by: 5 });
      expect(inc.value).toEqual({ n: 6, s: 'y' });
      expect(await c.get('k', 'linearizable')).toEqual({
        key: 'k',
        value: { n: 6, s: 'y' },
        version: 2,
        partition: 0,
      });
      const del = await c.write({ op: 'delete', key: 'k' });
      expect(del.value).toBeNull();
      expect((await c.get('k')).version).toBe(-1);
    });

    it('compare-and-set: ifVersion must match, -1 means absent', async () => {
      const { service } = await setup();
      const c = service.collection((await service.create('a', { mode: 'strong' })).name);
      const first = await c.write({ op: 'put', key: 'k', value: { v: 1 }, ifVersion: -1 });
      const mismatch = await rejected(c.write({ op: 'put', key: 'k', value: { v: 9 }, ifVersion: -1 }));
      expect(mismatch).toMatchObject({
        code: 'VERSION_MISMATCH',
        details: { key: 'k', expected: -1, actual: first.version },
      });
      const second = await c.write({ op: 'put', key: 'k', value: { v: 2 }, ifVersion: first.version });
      expect(
        (await rejected(c.write({ op: 'put', key: 'k', value: { v: 3 }, ifVersion: first.version }))).code,
      ).toBe('VERSION_MISMATCH');
      expect((await c.get('k')).value).toEqual({ v: 2 });
      expect(second.version).toBeGreaterThan(first.version);
    });

    it('concurrent CAS increments: exactly one winner per version, none lost', async () => {
      const { service } = await setup();
      const c = service.collection((await service.create('a', { mode: 'strong' })).name);
      await c.write({ op: 'put', key: 'k', value: { n: 0 } });
      let successes = 0;
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          for (;;) {
            const { value, version } = await c.get('k');
            try {
              await c.write({
                op: 'put',
                key: 'k',
                value: { n: (value?.n as number) + 1 },
                ifVersion: version,
              });
              successes++;
              return;
            } catch (error) {
              if (!isTributaryError(error, 'VERSION_MISMATCH')) throw error;
            }
          }
        }),
      );
      expect(successes).toBe(20);
      expect((await c.get('k')).value).toEqual({ n: 20 });
    });

    it('transactions are all or nothing, with version and value guards', async () => {
      const { service } = await setup();
      const c = service.collection((await service.create('bank', { mode: 'strong' })).name);
      await c.transact({
        ops: [
          { op: 'put', key: 'alice', value: { balance: 100 } },
          { op: 'put', key: 'bob', value: { balance: 0 } },
        ],
      });
      const transfer = (amount: number) =>
        c.transact({
          ops: [
            { op: 'increment', key: 'alice', field: 'balance', by: -amount },
            { op: 'increment', key: 'bob', field: 'balance', by: amount },
          ],
          conditions: [{ key: 'alice', field: 'balance', op: '>=', value: 0, when: 'after' }],
        });
      const ok = await transfer(60);
      expect(ok.writes.map((w) => w.value)).toEqual([{ balance: 40 }, { balance: 60 }]);
      const failed = await rejected(transfer(60));
      expect(failed).toMatchObject({ code: 'PRECONDITION_FAILED', details: { key: 'alice' } });
      expect((await c.get('alice')).value).toEqual({ balance: 40 });
      expect((await c.get('bob')).value).toEqual({ balance: 60 });
      const version = (await c.get('bob')).version;
      const stale = await rejected(
        c.transact({
          ops: [{ op: 'put', key: 'alice', value: { balance: 0 } }],
          conditions: [{ key: 'bob', version: version - 1 }],
        }),
      );
      expect(stale.code).toBe('VERSION_MISMATCH');
      const before = await rejected(
        c.transact({
          ops: [{ op: 'delete', key: 'bob' }],
          conditions: [{ key: 'bob', field: 'balance', op: '==', value: 0 }],
        }),
      );
      expect(before.code).toBe('PRECONDITION_FAILED');
      expect((await c.get('bob')).value).toEqual({ balance: 60 });
    });

    it('refuses transactions across partitions and CRDT operations', async () => {
      const { service } = await setup();
      const c = service.collection((await service.create('multi', { mode: 'strong', partitions: 8 })).name);
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
      const a = keys.find((k) => c.partitionOf(k) === 0)!;
      const b = keys.find((k) => c.partitionOf(k) !== 0)!;
      const error = await rejected(
        c.transact({
          ops: [
            { op: 'put', key: a, value: {} },
            { op: 'put', key: b, value: {} },
          ],
        }),
      );
      expect(error.code).toBe('INVALID_ARGUMENT');
      const clock = new HybridClock({ node: 'tab-1' });
      expect((await rejected(c.applyOperations([putOp('k', { a: 1 }, clock.now())]))).code).toBe(
        'INVALID_ARGUMENT',
      );
    });

    it('two gateways on one log: sequencers retry on conflicts, linearizable reads see the other', async () => {
      const log = createMemoryLog();
      const { service: one, broker } = await setup(log);
      await one.create('shared', { mode: 'strong' });
      const two = await CollectionService.open(broker, await storeOptions());
      cleanups.push(() => two.close());
      const a = one.collection('shared');
      const b = two.collection('shared');
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? a : b).write({ op: 'increment', key: 'n', field: 'v', by: 1 }),
        ),
      );
      expect((await a.get('n', 'linearizable')).value).toEqual({ v: 40 });
      expect((await b.get('n', 'linearizable')).value).toEqual({ v: 40 });
    });
  });

  describe('collections: eventual mode', () => {
    it('merges fields by last writer, counts with PN-counters and keeps tombstones', async () => {
      const { service } = await setup();
      const c = service.collection((await service.create('e', { mode: 'eventual', partitions: 2 })).name);
      await c.write({ op: 'put', key: 'sku', value: { name: 'Widget', stock: 10 } });
      await c.write({ op: 'increment', key: 'sku', field: 'stock', by: -3 });
      await c.write({ op: 'patch', key: 'sku', fields: { price: 2 } });
      const got = await c.get('sku');
      expect(got.value).toEqual({ name: 'Widget', price: 2, stock: 7 });
      expect(got.state?.fields.stock?.counter).toBeDefined();
      await c.write({ op: 'delete', key: 'sku' });
      expect((await c.get('sku')).value).toBeNull();
      expect((await rejected(c.write({ op: 'put', key: 'x', value: {}, ifVersion: 3 }))).code).toBe(
        'INVALID_ARGUMENT',
      );
      expect((await rejected(c.transact({ ops: [{ op: 'delete', key: 'x' }] }))).code).toBe(
        'INVALID_ARGUMENT',
      );
    });

    it('accepts client-stamped CRDT operations, merged whatever their order, and refuses drifting clocks', async () => {
      const { service } = await setup();
      const c = service.collection((await service.create('e', { mode: 'eventual' })).name);
      const tab = new HybridClock({ node: 'tab-1' });
      const early = putOp('doc', { a: 1, b: 1 }, tab.now());
      const late = patchOp('doc', { b: 2 }, tab.now());
      const results = await c.applyOperations([late, early]);
      expect(results.map((r) => r.version)).toEqual([0, 1]);
      expect((await c.get('doc')).value).toEqual({ a: 1, b: 2 });
      const future = new HybridClock({ node: 'tab-2', wallClock: () => Date.now() + 3_600_000 });
      const drift = await rejected(c.applyOperations([putOp('doc', { a: 9 }, future.now())]));
      expect(drift.code).toBe('CLOCK_DRIFT');
      expect((await c.get('doc')).value).toEqual({ a: 1, b: 2 });
    });
  });

  describe('collections: queries and subscriptions', () => {
    it('queries with conditions, prefix, order and limit', async () => {
      const { service } = await setup();
      const c = service.collection((await service.create('q', { mode: 'strong', partitions: 3 })).name);
      for (let i = 0; i < 10; i++) {
        await c.write({ op: 'put', key: `item-${i}`, value: { n: i, color: i % 2 === 0 ? 'red' : 'blue' } });
      }
      await c.write({ op: 'put', key: 'other', value: { n: 100, color: 'red' } });
      const result = await c.query({
        where: [
          { field: 'color', op: '==', value: 'red' },
          { field: 'n', op: '>=', value: 2 },
        ],
        keyPrefix: 'item-',
        orderBy: { field: 'n', direction: 'desc' },
        limit: 2,
      });
      expect(result.items.map((i) => i.key)).toEqual(['item-8', 'item-6']);
      expect(result.offsets).toHaveLength(3);
      const within = await c.query({ where: [{ field: 'n', op: 'in', value: [1, 3, 100] }] });
      expect(within.items.map((i) => i.key)).toEqual(['item-1', 'item-3', 'other']);
    });

    it('sends a snapshot, then added / changed / removed, and resumes exactly or resets', async () => {
      const { service } = await setup();
      const c = service.collection((await service.create('s', { mode: 'strong' })).name);
      await c.write({ op: 'put', key: 'a', value: { stock: 1 } });
      await c.write({ op: 'put', key: 'b', value: { stock: 50 } });
      const low = { where: [{ field: 'stock', op: '<' as const, value: 10 }] };
      const recorder = new Recorder();
      const sub = c.subscribe(low, recorder);
      expect(sub.start()).toEqual({ resumed: false });
      expect(recorder.frames[0]).toMatchObject({
        kind: 'snapshot',
        reset: false,
        offsets: [{ partition: 0, offset: 2 }],
      });
      expect((recorder.frames[0] as SnapshotFrame).items.map((i) => i.key)).toEqual(['a']);
      await c.write({ op: 'put', key: 'b', value: { stock: 5 } }); // enters: added
      await c.write({ op: 'increment', key: 'a', field: 'stock', by: 1 }); // changed
      await c.write({ op: 'put', key: 'b', value: { stock: 20 } }); // leaves: removed
      await c.write({ op: 'delete', key: 'a' }); // removed
      const types = recorder.frames
        .slice(1)
        .flatMap((f) => (f.kind === 'changes' ? f.changes.map((ch) => `${ch.type}:${ch.key}`) : []));
      expect(types).toEqual(['added:b', 'changed:a', 'removed:b', 'removed:a']);
      const midpoint = (recorder.frames[2] as ChangesFrame).offsets;
      sub.close();

      // Resume from the position after the second change: exactly the later changes.
      const resumed = new Recorder();
      const again = c.subscribe(low, resumed);
      expect(again.start(midpoint)).toEqual({ resumed: true });
      const catchUp = resumed.frames[0] as ChangesFrame;
      expect(catchUp.changes.map((ch) => `${ch.type}:${ch.key}`)).toEqual(['removed:b', 'removed:a']);
      expect(catchUp.offsets).toEqual([{ partition: 0, offset: 6 }]);
      again.close();

      // A position the journal cannot serve (ahead of the log): a fresh snapshot marked reset.
      const reset = new Recorder();
      const third = c.subscribe(low, reset);
      expect(third.start([{ partition: 0, offset: 999 }])).toEqual({ resumed: false });
      expect(reset.frames[0]).toMatchObject({ kind: 'snapshot', reset: true });
      third.close();
    });

    it('never shows half a transaction to a subscriber', async () => {
      const { service } = await setup();
      const c = service.collection((await service.create('t', { mode: 'strong' })).name);
      await c.transact({
        ops: [
          { op: 'put', key: 'x', value: { v: 0 } },
          { op: 'put', key: 'y', value: { v: 0 } },
        ],
      });
      const recorder = new Recorder();
      c.subscribe({}, recorder).start();
      await c.transact({
        ops: [
          { op: 'put', key: 'x', value: { v: 1 } },
          { op: 'put', key: 'y', value: { v: 1 } },
        ],
      });
      const changes = recorder.frames.filter((f) => f.kind === 'changes') as ChangesFrame[];
      expect(changes).toHaveLength(1);
      expect(changes[0]!.changes.map((ch) => ch.key)).toEqual(['x', 'y']);
    });

    it('ends subscriptions with COLLECTION_NOT_FOUND when the collection is deleted', async () => {
      const { service } = await setup();
      const c = service.collection((await service.create('gone', { mode: 'eventual' })).name);
      const recorder = new Recorder();
      c.subscribe({}, recorder).start();
      await service.delete('gone');
      expect(isTributaryError(recorder.closedWith, 'COLLECTION_NOT_FOUND')).toBe(true);
    });
  });
});

describe('collections: restart and checkpoints', () => {
  it('restarts from a checkpoint and replays only the tail, after compaction too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-sync-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const checkpointDir = join(dir, 'collections');
    const open = async () => {
      const log = await openFileLog({ dir: join(dir, 'log'), maintenanceIntervalMs: 0 });
      const broker = (await createBroker(log)).forSystem();
      const service = await CollectionService.open(broker, { checkpointDir, checkpointIntervalMs: 0 });
      return {
        log,
        service,
        close: async () => {
          await service.close();
          await broker.close();
          await log.close();
        },
      };
    };
    const first = await open();
    await first.service.create('s', { mode: 'strong' });
    await first.service.create('e', { mode: 'eventual' });
    const s = first.service.collection('s');
    const e = first.service.collection('e');
    for (let i = 0; i < 50; i++) {
      await s.write({ op: 'put', key: `k${i % 5}`, value: { i } });
      await e.write({ op: 'increment', key: 'counter', field: 'n', by: 1 });
    }
    await first.service.checkpoint();
    await s.write({ op: 'put', key: 'tail', value: { after: true } });
    await s.write({ op: 'delete', key: 'k0' });
    await first.log.compact('__collection.s');
    await first.close();

    const second = await open();
    const s2 = second.service.collection('s');
    expect((await s2.get('k1')).value).toEqual({ i: 46 });
    expect((await s2.get('tail')).value).toEqual({ after: true });
    expect((await s2.get('k0')).version).toBe(-1);
    expect((await second.service.collection('e').get('counter')).value).toEqual({ n: 50 });
    // Writes after the restart go on from the log's end.
    const next = await s2.write({ op: 'put', key: 'k1', value: { i: 99 } });
    expect(next.version).toBe(52);
    await second.close();
  });

  /** A file log and a service with an LMDB state directory under `dir`, with a log sink. */
  async function openStored(dir: string, lines: { msg: string }[] = []) {
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
    );
    const log = await openFileLog({ dir: join(dir, 'log'), maintenanceIntervalMs: 0 });
    const broker = (await createBroker(log)).forSystem();
    const service = await CollectionService.open(broker, {
      checkpointDir: join(dir, 'collections'),
      checkpointIntervalMs: 0,
      logger,
      storeLimits: { cachedDocumentsMax: 10, uncommittedDocumentsMax: 25 },
    });
    return {
      service,
      close: async () => {
        await service.close();
        await broker.close();
        await log.close();
      },
    };
  }

  async function writeSome(service: CollectionService): Promise<void> {
    await service.create('s', { mode: 'strong', partitions: 2 });
    await service.create('e', { mode: 'eventual' });
    for (let i = 0; i < 120; i++) {
      await service.collection('s').write({ op: 'put', key: `k${i % 40}`, value: { i } });
      await service.collection('e').write({ op: 'increment', key: `c${i % 7}`, field: 'n', by: 1 });
    }
    await service.collection('s').write({ op: 'delete', key: 'k3' });
  }

  async function contents(service: CollectionService): Promise<unknown> {
    const s = await service.collection('s').query({});
    const e = await service.collection('e').query({});
    return { s: s.items, e: e.items, offsets: [s.offsets, e.offsets] };
  }

  it('a data directory with checkpoint files of the old format starts: they are removed, the log rebuilds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-sync-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const first = await openStored(dir);
    await writeSome(first.service);
    const before = await contents(first.service);
    await first.close();
    // What an older version left: no LMDB file, one JSON checkpoint per partition.
    for (const name of ['s', 'e']) {
      await rm(join(dir, 'collections', name), { recursive: true });
      await mkdir(join(dir, 'collections', name));
      await writeFile(join(dir, 'collections', name, '0.ckpt'), 'abc\n{"format":1,"entries":[]}');
    }
    const lines: { msg: string }[] = [];
    const second = await openStored(dir, lines);
    expect(await contents(second.service)).toEqual(before);
    expect(await readdir(join(dir, 'collections', 's'))).not.toContain('0.ckpt');
    expect(lines.map((l) => l.msg)).toContain(
      'removed checkpoint files of the old format: documents are now stored in documents.mdb',
    );
    expect(lines.map((l) => l.msg)).toContain('no stored documents: rebuilding the partition from the log');
    await second.close();
  });

  it('deleted or damaged LMDB files are rebuilt from the log, with a clear log line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-sync-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const first = await openStored(dir);
    await writeSome(first.service);
    const before = await contents(first.service);
    await first.close();
    await rm(join(dir, 'collections', 'e', 'documents.mdb'));
    await writeFile(join(dir, 'collections', 's', 'documents.mdb'), Buffer.alloc(100_000, 7));
    const lines: { msg: string }[] = [];
    const second = await openStored(dir, lines);
    expect(await contents(second.service)).toEqual(before);
    const messages = lines.map((l) => l.msg);
    expect(messages).toContain(
      'the stored documents of a collection cannot be read: deleting them and rebuilding from the log',
    );
    expect(
      messages.filter((m) => m === 'no stored documents: rebuilding the partition from the log'),
    ).toHaveLength(3);
    await second.close();
    // And the rebuilt documents were stored: the next start replays nothing.
    const quiet: { msg: string }[] = [];
    const third = await openStored(dir, quiet);
    expect(await contents(third.service)).toEqual(before);
    expect(quiet.map((l) => l.msg).filter((m) => m.includes('rebuilding'))).toEqual([]);
    await third.close();
  });
});
