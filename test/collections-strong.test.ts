/**
 * Strong collections end to end, over real WebSocket connections to a real server (file log):
 * concurrent histories of reads, writes and compare-and-set checked for linearizability, and a
 * bank of accounts under concurrent transfers, each with a server restart in the middle.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CollectionClient,
  ReconnectingClient,
  RestartableServer,
  sleep,
  transferRequest,
  WireRequestError,
} from './collections-helpers.js';
import { tempDir } from './http-helpers.js';
import { type HistoryEntry, isLinearizable, type RegisterOp } from './linearizability.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(): Promise<RestartableServer> {
  const dir = await tempDir('tributary-collections-');
  cleanups.push(() => dir.remove());
  const server = new RestartableServer(dir.path);
  await server.start();
  cleanups.push(() => server.stop());
  return server;
}

const definite = (error: unknown): boolean => error instanceof WireRequestError && !error.error.retriable;

describe('strong collections: linearizability', () => {
  it('histories of read / write / CAS from many clients are linearizable, across a restart', async () => {
    const server = await startServer();
    const admin = await CollectionClient.connect(server.wsUrl);
    await admin.request('createCollection', { name: 'registers', mode: 'strong' });
    const KEYS = ['r0', 'r1', 'r2'];
    const valueOfVersion = new Map<string, string>(); // `${key}@${version}` → value
    for (const key of KEYS) {
      const w = await admin.request('collectionPut', {
        collection: 'registers',
        key,
        value: { v: `${key}-init` },
      });
      valueOfVersion.set(`${key}@${w.version}`, `${key}-init`);
    }
    admin.close();

    const histories = new Map<string, HistoryEntry[]>(KEYS.map((k) => [k, []]));
    const start = performance.now();
    const now = () => performance.now() - start;
    let restarted = false;
    const CLIENTS = 8;
    const OPS = 40;
    const worker = async (w: number): Promise<void> => {
      const client = new ReconnectingClient(() => server.wsUrl);
      cleanups.push(() => client.close());
      for (let i = 0; i < OPS; i++) {
        const key = KEYS[(w + i) % KEYS.length]!;
        const history = histories.get(key)!;
        const choice = (w * 31 + i * 7) % 3;
        const c = await client.get();
        if (choice === 0) {
          const call = now();
          try {
            const r = await c.request('collectionGet', {
              collection: 'registers',
              key,
              consistency: 'linearizable',
            });
            history.push({ op: { kind: 'read', value: r.value.v }, call, ret: now() });
            valueOfVersion.set(`${key}@${r.version}`, r.value.v);
          } catch {
            // A read without an answer constrains nothing.
          }
        } else if (choice === 1) {
          const value = `${key}-w${w}-${i}`;
          const call = now();
          try {
            const r = await c.request('collectionPut', { collection: 'registers', key, value: { v: value } });
            valueOfVersion.set(`${key}@${r.version}`, value);
            history.push({ op: { kind: 'write', value }, call, ret: now() });
          } catch (error) {
            history.push({
              op: { kind: 'write', value },
              call,
              ret: definite(error) ? now() : Number.POSITIVE_INFINITY,
            });
          }
        } else {
          // CAS: read the version, then put with ifVersion (the read is its own operation).
          let read: { value: { v: string }; version: number };
          const readCall = now();
          try {
            read = await c.request('collectionGet', {
              collection: 'registers',
              key,
              consistency: 'linearizable',
            });
          } catch {
            continue;
          }
          history.push({ op: { kind: 'read', value: read.value.v }, call: readCall, ret: now() });
          const value = `${key}-c${w}-${i}`;
          const call = now();
          let op: RegisterOp;
          let ret = Number.POSITIVE_INFINITY;
          try {
            const r = await c.request('collectionPut', {
              collection: 'registers',
              key,
              value: { v: value },
              ifVersion: read.version,
            });
            valueOfVersion.set(`${key}@${r.version}`, value);
            op = { kind: 'cas', expected: read.value.v, value, ok: true };
            ret = now();
          } catch (error) {
            const mismatch = error instanceof WireRequestError && error.code === 'VERSION_MISMATCH';
            op = { kind: 'cas', expected: read.value.v, value, ok: mismatch ? false : undefined };
            if (mismatch) ret = now();
          }
          history.push({ op, call, ret });
        }
        if (w === 0 && i === OPS / 2 && !restarted) {
          restarted = true;
          await server.restart();
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, w) => worker(w)));
    expect(restarted).toBe(true);
    for (const key of KEYS) {
      const history = histories.get(key)!;
      expect(history.length).toBeGreaterThan(50);
      expect(isLinearizable(history, `${key}-init`), `history of ${key}`).toBe(true);
    }
  }, 120_000);
});

describe('strong collections: bank invariant', () => {
  it('conserves money, never goes negative and applies every acknowledged transfer exactly once', async () => {
    const server = await startServer();
    const admin = await CollectionClient.connect(server.wsUrl);
    await admin.request('createCollection', { name: 'bank', mode: 'strong' });
    const ACCOUNTS = 6;
    const INITIAL = 100;
    await admin.request('collectionTransact', {
      collection: 'bank',
      ops: Array.from({ length: ACCOUNTS }, (_, a) => ({
        op: 'put',
        key: `acct-${a}`,
        value: { balance: INITIAL },
      })),
    });
    // A watcher sees every committed state: no balance may ever be negative.
    let negative = 0;
    let watched = 0;
    const watcher = await CollectionClient.connect(server.wsUrl);
    watcher.onPush = (frame) => {
      const items =
        frame.type === 'collectionSnapshot'
          ? frame.items
          : frame.type === 'collectionChanges'
            ? frame.changes
            : [];
      for (const item of items) {
        const balance = (item as { value?: { balance?: number } }).value?.balance;
        if (typeof balance === 'number') {
          watched++;
          if (balance < 0) negative++;
        }
      }
    };
    await watcher.request('collectionSubscribe', { collection: 'bank', query: { keyPrefix: 'acct-' } });
    admin.close();

    const acked = new Map<string, { from: number; to: number; amount: number }>();
    let rejected = 0;
    let restarted = false;
    const CLIENTS = 20;
    const TRANSFERS = 25;
    const worker = async (w: number): Promise<void> => {
      const client = new ReconnectingClient(() => server.wsUrl);
      cleanups.push(() => client.close());
      for (let i = 0; i < TRANSFERS; i++) {
        const id = `t-${w}-${i}`;
        const from = (w + i) % ACCOUNTS;
        const to =
          (w * 7 + i * 3 + 1) % ACCOUNTS === from ? (from + 1) % ACCOUNTS : (w * 7 + i * 3 + 1) % ACCOUNTS;
        const amount = 1 + ((w * 13 + i * 17) % 60);
        const request = transferRequest(id, from, to, amount);
        for (;;) {
          const c = await client.get();
          try {
            await c.request('collectionTransact', request);
            acked.set(id, { from, to, amount });
            break;
          } catch (error) {
            if (error instanceof WireRequestError && error.code === 'PRECONDITION_FAILED') {
              rejected++;
              break;
            }
            if (error instanceof WireRequestError && error.code === 'VERSION_MISMATCH') {
              acked.set(id, { from, to, amount }); // an earlier attempt was applied
              break;
            }
            await sleep(10); // connection lost / server restarting: retry the same transfer
          }
        }
        if (w === 3 && i === 10 && !restarted) {
          restarted = true;
          await server.restart();
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, w) => worker(w)));
    expect(restarted).toBe(true);

    const reader = await CollectionClient.connect(server.wsUrl);
    cleanups.push(() => reader.close());
    const accounts = await reader.request('collectionQuery', {
      collection: 'bank',
      query: { keyPrefix: 'acct-' },
      consistency: 'linearizable',
    });
    const transfers = await reader.request('collectionQuery', {
      collection: 'bank',
      query: { keyPrefix: 'transfer-' },
    });
    const balances = accounts.items.map((item: { value: { balance: number } }) => item.value.balance);
    expect(balances.reduce((a: number, b: number) => a + b, 0)).toBe(ACCOUNTS * INITIAL);
    for (const balance of balances) expect(balance).toBeGreaterThanOrEqual(0);
    // Exactly the acknowledged transfers are recorded, and the balances are what they imply.
    const recorded = new Set<string>(
      transfers.items.map((item: { key: string }) => item.key.slice('transfer-'.length)),
    );
    expect([...recorded].sort()).toEqual([...acked.keys()].sort());
    const expected = Array.from({ length: ACCOUNTS }, () => INITIAL);
    for (const { from, to, amount } of acked.values()) {
      expected[from]! -= amount;
      expected[to]! += amount;
    }
    expect(balances).toEqual(expected);
    expect(acked.size + rejected).toBe(CLIENTS * TRANSFERS);
    expect(acked.size).toBeGreaterThan(CLIENTS * TRANSFERS * 0.3);
    expect(negative).toBe(0);
    expect(watched).toBeGreaterThan(0);
    watcher.close();
  }, 120_000);
});

const BANK_CLIENT = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures/bank-client.ts');

function runBankClient(url: string, name: string, accounts: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', BANK_CLIENT, url, name, String(accounts), '5', '20'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('exit', (code) => {
      if (code === 0) resolve(out.trim().split('\n'));
      else reject(new Error(`bank client ${name} exited with ${code}: ${err}`));
    });
  });
}

describe('strong collections: bank invariant from several client processes', () => {
  it('conserves money and applies each acknowledged transfer exactly once with 3 processes', async () => {
    const server = await startServer();
    const admin = await CollectionClient.connect(server.wsUrl);
    cleanups.push(() => admin.close());
    await admin.request('createCollection', { name: 'bank', mode: 'strong' });
    const ACCOUNTS = 5;
    await admin.request('collectionTransact', {
      collection: 'bank',
      ops: Array.from({ length: ACCOUNTS }, (_, a) => ({
        op: 'put',
        key: `acct-${a}`,
        value: { balance: 100 },
      })),
    });
    const outputs = await Promise.all(
      ['p1', 'p2', 'p3'].map((name) => runBankClient(server.wsUrl, name, ACCOUNTS)),
    );
    const expected = Array.from({ length: ACCOUNTS }, () => 100);
    const acked = new Set<string>();
    let lines = 0;
    for (const output of outputs) {
      expect(output.at(-1)).toBe('done');
      for (const line of output) {
        const [kind, id, from, to, amount] = line.split(' ');
        if (kind === 'rejected' || kind === 'acked') lines++;
        if (kind !== 'acked') continue;
        acked.add(id!);
        expected[Number(from)]! -= Number(amount);
        expected[Number(to)]! += Number(amount);
      }
    }
    expect(lines).toBe(3 * 5 * 20);
    const accounts = await admin.request('collectionQuery', {
      collection: 'bank',
      query: { keyPrefix: 'acct-' },
      consistency: 'linearizable',
    });
    const transfers = await admin.request('collectionQuery', {
      collection: 'bank',
      query: { keyPrefix: 'transfer-' },
    });
    expect(accounts.items.map((i: { value: { balance: number } }) => i.value.balance)).toEqual(expected);
    expect(transfers.items.map((i: { key: string }) => i.key.slice('transfer-'.length)).sort()).toEqual(
      [...acked].sort(),
    );
  }, 120_000);
});
