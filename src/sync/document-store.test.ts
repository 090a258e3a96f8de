/**
 * The DocumentStore contract on both stores: whatever sets, deletes and commits (awaited or still
 * in flight), `get`, `entries`, `size` agree with a plain Map; and LMDB's committed state comes
 * back after a reopen exactly as of the last commit, with its offset.
 */
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { open } from 'lmdb';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeDocState, materialize } from '../crdt/index.js';
import { type DocumentStore, type Entry, MemoryDocumentStore } from './document-store.js';
import { DOCUMENTS_FILE, LmdbCollectionStore } from './lmdb-store.js';

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-store-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function openLmdb(
  dir: string,
  incarnation = 'i1',
  limits: { cachedDocumentsMax?: number; cachedDocumentBytes?: number } = { cachedDocumentsMax: 2 },
) {
  return LmdbCollectionStore.open({
    dir,
    collection: 'c',
    incarnation,
    mode: 'strong',
    partitions: 2,
    logger,
    ...limits,
  });
}

const key = fc.constantFrom('a', 'ab', 'abc', 'b', 'ba', 'é', '日本', 'z');
type Step =
  | { readonly kind: 'put'; readonly key: string; readonly n: number }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'commit'; readonly wait: boolean };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key, n: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), wait: fc.boolean() }) },
);

function sorted(entries: Iterable<Entry>): Entry[] {
  return [...entries].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

/** Runs `steps` on `store` and on a Map, checking they agree after every step. */
async function runAgainstModel(store: DocumentStore, steps: readonly Step[]): Promise<Map<string, Entry>> {
  const model = new Map<string, Entry>();
  const inFlight: Promise<void>[] = [];
  let offset = 0;
  for (const s of steps) {
    offset++;
    if (s.kind === 'commit') {
      const commit = store.commit(offset);
      if (s.wait) await commit;
      else inFlight.push(commit);
      continue;
    }
    const before = store.get(s.key);
    expect(before).toEqual(model.get(s.key));
    const after: Entry | undefined =
      s.kind === 'put' ? { key: s.key, version: offset, value: { n: s.n } } : undefined;
    store.set(s.key, after, before);
    if (after === undefined) model.delete(s.key);
    else model.set(s.key, after);
    expect(store.size).toBe(model.size);
    expect(sorted(store.entries())).toEqual(sorted(model.values()));
    expect(sorted(store.entries('a'))).toEqual(
      sorted([...model.values()].filter((e) => e.key.startsWith('a'))),
    );
  }
  await Promise.all(inFlight);
  for (const k of ['a', 'ab', 'abc', 'b', 'ba', 'é', '日本', 'z']) expect(store.get(k)).toEqual(model.get(k));
  return model;
}

describe('document stores agree with a Map', () => {
  it('memory', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        await runAgainstModel(new MemoryDocumentStore(), steps);
      }),
      { numRuns: 100 },
    );
  });

  it('lmdb, with commits in flight and a 2-entry cache; a reopen gives the last commit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const dir = await tempDir();
        const stores = await openLmdb(dir);
        const p1 = stores.partition(1);
        const model = await runAgainstModel(p1, steps);
        const next = steps.length + 1;
        await p1.commit(next);
        await stores.close();
        const again = await openLmdb(dir);
        const reopened = again.partition(1);
        expect(reopened.openedAt).toBe(next);
        expect(reopened.size).toBe(model.size);
        expect(sorted(reopened.entries())).toEqual(sorted(model.values()));
        expect(again.partition(0).openedAt).toBe(0);
        await again.close();
      }),
      { numRuns: 25 },
    );
  });
});

describe('lmdb store on disk', () => {
  it('stores documents and their offset in one commit: what is on disk is one prefix of the log', async () => {
    const dir = await tempDir();
    const stores = await openLmdb(dir);
    const p0 = stores.partition(0);
    p0.set('k', { key: 'k', version: 0, value: { n: 0 } }, undefined);
    await p0.commit(1);
    p0.set('k', { key: 'k', version: 1, value: { n: 1 } }, p0.get('k'));
    // Uncommitted writes are lost with the process; the reopened store is as of offset 1.
    await stores.close();
    const again = await openLmdb(dir);
    expect(again.partition(0).openedAt).toBe(1);
    expect(again.partition(0).get('k')).toEqual({ key: 'k', version: 0, value: { n: 0 } });
    await again.close();
  });

  it('keeps at most cachedDocumentBytes of decoded documents in memory, reading the rest from disk', async () => {
    const dir = await tempDir();
    const limit = 20_000;
    const stores = await openLmdb(dir, 'i1', { cachedDocumentsMax: 1_000_000, cachedDocumentBytes: limit });
    const p0 = stores.partition(0);
    const n = 2000;
    const doc = (i: number): Entry => ({ key: `k${i}`, version: i, value: { n: i, text: 'x'.repeat(100) } });
    for (let i = 0; i < n; i++) p0.set(`k${i}`, doc(i), undefined);
    await p0.commit(n);
    expect(p0.cached.bytes).toBeLessThanOrEqual(limit);
    for (let i = 0; i < n; i++) expect(p0.get(`k${i}`)).toEqual(doc(i));
    // Each cached document costs more than its stored bytes: 2000 of them cannot all stay.
    expect(p0.cached.bytes).toBeLessThanOrEqual(limit);
    expect(p0.cached.documents).toBeGreaterThan(0);
    expect(p0.cached.documents).toBeLessThan(n / 10);
    // The most recently read ones are the cached ones.
    p0.set('k0', doc(0), p0.get('k0'));
    expect(p0.get(`k${n - 1}`)).toEqual(doc(n - 1));
    await stores.close();
  });

  it('an eventual document read back from disk is the one stored: CRDT state, value and version', async () => {
    const dir = await tempDir();
    const open = () =>
      LmdbCollectionStore.open({
        dir,
        collection: 'c',
        incarnation: 'i1',
        mode: 'eventual',
        partitions: 1,
        logger,
        cachedDocumentsMax: 1,
      });
    const state = decodeDocState({
      cleared: { at: '0mxdp7zfm-00000-a', deleted: false },
      fields: {
        n: { lww: { ts: '0mxdp7zfm-00000-a', value: 1 } },
        old: { lww: { ts: '0mxdp7zfn-00000-b', value: { deep: [1, 'x', null] } } },
        c: { counter: { epoch: '', p: { a: 3 }, n: { b: 1 } } },
      },
    });
    const entry: Entry = { key: 'k', version: 7, value: materialize(state), state };
    const deleted = decodeDocState({ cleared: { at: '0mxdp7zfo-00000-a', deleted: true }, fields: {} });
    const tombstone: Entry = { key: 't', version: 8, value: materialize(deleted), state: deleted };
    const stores = await open();
    stores.partition(0).set('k', entry, undefined);
    stores.partition(0).set('t', tombstone, undefined);
    await stores.partition(0).commit(9);
    await stores.close();
    const again = await open();
    expect(again.partition(0).get('k')).toEqual(entry);
    expect(again.partition(0).get('t')).toEqual(tombstone);
    expect(sorted(again.partition(0).entries())).toEqual([entry, tombstone]);
    await again.close();
  });

  it('drops the documents of another incarnation of the collection', async () => {
    const dir = await tempDir();
    const stores = await openLmdb(dir, 'first');
    stores.partition(0).set('k', { key: 'k', version: 0, value: { n: 0 } }, undefined);
    await stores.partition(0).commit(1);
    await stores.close();
    const other = await openLmdb(dir, 'second');
    expect(other.partition(0).openedAt).toBe(0);
    expect(other.partition(0).get('k')).toBeUndefined();
    expect(other.partition(0).size).toBe(0);
    await other.close();
  });

  for (const [damage, how] of [
    [
      'overwritten by bytes that are not LMDB',
      (file: string) => writeFile(file, Buffer.alloc(64 * 1024, 0x5a)),
    ],
    ['truncated', (file: string) => truncate(file, 8192 * 2 + 100)],
    ['empty', (file: string) => truncate(file, 0)],
  ] as const) {
    it(`a file ${damage} is deleted and made again (the log rebuilds it), never mapped`, async () => {
      const dir = await tempDir();
      const stores = await openLmdb(dir);
      for (let i = 0; i < 500; i++)
        stores.partition(0).set(`k${i}`, { key: `k${i}`, version: i, value: { n: i } }, undefined);
      await stores.partition(0).commit(500);
      await stores.close();
      await how(join(dir, 'c', DOCUMENTS_FILE));
      const again = await openLmdb(dir);
      expect(again.partition(0).openedAt).toBe(0);
      expect(again.partition(0).get('k1')).toBeUndefined();
      again.partition(0).set('k1', { key: 'k1', version: 0, value: { n: 1 } }, undefined);
      await again.partition(0).commit(1);
      await again.close();
    });
  }

  it('a stored document that fails its checksum is refused with MALFORMED_DATA, never served', async () => {
    const dir = await tempDir();
    const stores = await openLmdb(dir);
    stores.partition(0).set('k', { key: 'k', version: 0, value: { n: 12345 } }, undefined);
    await stores.partition(0).commit(1);
    await stores.close();
    // Flip one byte of the stored value in place, as a damaged disk page would.
    const raw = open({ path: join(dir, 'c', DOCUMENTS_FILE), maxDbs: 4 });
    const db = raw.openDB({ name: 'p0', keyEncoding: 'binary', encoding: 'binary' });
    const value = Buffer.from(db.get(Buffer.from('k')) as Buffer);
    const at = value.length - 3;
    value.writeUInt8(value.readUInt8(at) ^ 0x01, at);
    await db.put(Buffer.from('k'), value);
    await raw.close();
    const again = await openLmdb(dir);
    expect(() => again.partition(0).get('k')).toThrow(/checksum mismatch/);
    await again.close();
  });
});
