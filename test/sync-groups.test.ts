/**
 * Sync groups against a real server (file log, WebSocket front end on a loopback port) with SDK
 * members: all-reduce results identical to the bit on every member and equal to a rank-order
 * fold; chunked tensors; mean/min/max/broadcast/barrier; mismatched shapes refused for one member
 * without corrupting the step; a member that disconnects is removed and the group goes on; a
 * late joiner replays the checkpoint and the steps after it; the topic replays the history.
 */
import { describe, expect, it } from 'vitest';
import { isTributaryError, type SyncGroupMember, type Tensor } from '../src/client/node/index.js';
import { decodeSyncRecord, SYNC_GROUP_CHUNK_BYTES } from '../src/protocol/native/sync-group-records.js';
import type { RestartableServer } from './collections-helpers.js';
import { serverFixture } from './server-fixture.js';

const fixture = serverFixture('tributary-sync-groups-');
const server = fixture.server;
const client = fixture.client;

/** `n` members of `group`, each on its own connection, joined together (minMembers n). */
async function members(s: RestartableServer, group: string, n: number): Promise<SyncGroupMember[]> {
  const clients = await Promise.all(Array.from({ length: n }, () => client(s)));
  const joined = await Promise.all(clients.map((c) => c.joinSyncGroup(group, { minMembers: n })));
  return joined.sort((a, b) => a.rank - b.rank);
}

function bytesOf(t: Tensor): Buffer {
  return Buffer.from(t.buffer, t.byteOffset, t.byteLength);
}

/** Bit-identity (a byte compare: vitest's deep equality is slow on large arrays). */
function expectSameBits(a: Tensor, b: Tensor): void {
  expect(a.length).toBe(b.length);
  expect(bytesOf(a).equals(bytesOf(b))).toBe(true);
}

/** A deterministic pseudo-random float32 tensor (values spread over many magnitudes). */
function randomTensor(length: number, seed: number): Float32Array {
  let x = seed >>> 0 || 1;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 2 ** 32 - 0.5) * 10 ** ((x >>> 8) % 7);
  }
  return out;
}

/** The sum folded in rank order with float32 rounding after each add. */
function rankOrderSum(tensors: readonly Float32Array[]): Float32Array {
  const out = Float32Array.from(tensors[0] as Float32Array);
  for (const t of tensors.slice(1))
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (t[i] as number);
  return out;
}

describe('sync groups', () => {
  it('two Node members all-reduce a Float32Array sum: bit-identical, the rank-order fold', async () => {
    const s = await server();
    const [a, b] = await members(s, 'skeleton', 2);
    expect([a!.rank, b!.rank]).toEqual([0, 1]);
    expect(a!.size).toBe(2);
    for (let step = 0; step < 20; step++) {
      const inputs = [randomTensor(100, step * 2 + 1), randomTensor(100, step * 2 + 2)];
      const [ra, rb] = await Promise.all([a!.allReduce([inputs[0]!]), b!.allReduce([inputs[1]!])]);
      expectSameBits(ra![0]!, rb![0]!);
      expectSameBits(ra![0]!, rankOrderSum(inputs));
    }
    expect(a!.step).toBe(20);
  });

  it('reduces tensors larger than a chunk, lists of tensors and float64, with every op', async () => {
    const s = await server();
    const group = await members(s, 'ops', 3);
    const big = SYNC_GROUP_CHUNK_BYTES / 4 + 1000; // two chunks of float32
    const inputs = group.map((_, r) => [randomTensor(big, 10 + r), randomTensor(7, 20 + r)]);
    const sums = await Promise.all(group.map((m, r) => m.allReduce(inputs[r]!)));
    for (const result of sums) {
      expectSameBits(result[0]!, rankOrderSum(inputs.map((i) => i[0]!)));
      expectSameBits(result[1]!, rankOrderSum(inputs.map((i) => i[1]!)));
    }
    const f64 = group.map((_, r) => Float64Array.from([r + 0.1, -r, 2 ** 60 + r]));
    const [mean] = await Promise.all(group.map((m, r) => m.allReduce([f64[r]!], { op: 'mean' })));
    expect(mean![0]).toBeInstanceOf(Float64Array);
    expect([...mean![0]!]).toEqual([(0.1 + 1.1 + 2.1) / 3, (0 - 1 - 2) / 3, (2 ** 60 * 3 + 3) / 3]);
    const [min] = await Promise.all(group.map((m, r) => m.allReduce([f64[r]!], { op: 'min' })));
    expect([...min![0]!]).toEqual([0.1, -2, 2 ** 60]);
    const [max] = await Promise.all(group.map((m, r) => m.allReduce([f64[r]!], { op: 'max' })));
    expect([...max![0]!]).toEqual([2.1, -0, 2 ** 60 + 2]);
    const casts = await Promise.all(group.map((m, r) => m.broadcast([Float32Array.of(r + 5, r)])));
    for (const cast of casts) expect([...cast[0]!]).toEqual([5, 0]);
    await Promise.all(group.map((m) => m.barrier()));
    expect(group.map((m) => m.step)).toEqual([6, 6, 6]);
  });

  it('refuses mismatched shapes or dtypes for that member only; the step is not corrupted', async () => {
    const s = await server();
    const [a, b] = await members(s, 'shapes', 2);
    const pa = a!.allReduce([Float32Array.of(1, 2, 3)]);
    const wrongLength = await b!.allReduce([Float32Array.of(1, 2)]).catch((e: unknown) => e);
    expect(isTributaryError(wrongLength, 'SYNC_GROUP_MISMATCH')).toBe(true);
    const wrongDtype = await b!.allReduce([Float64Array.of(1, 2, 3)]).catch((e: unknown) => e);
    expect(isTributaryError(wrongDtype, 'SYNC_GROUP_MISMATCH')).toBe(true);
    const wrongOp = await b!.allReduce([Float32Array.of(1, 2, 3)], { op: 'max' }).catch((e: unknown) => e);
    expect(isTributaryError(wrongOp, 'SYNC_GROUP_MISMATCH')).toBe(true);
    const mixed = await b!.allReduce([Float32Array.of(1), Float64Array.of(1)]).catch((e: unknown) => e);
    expect(isTributaryError(mixed, 'INVALID_ARGUMENT')).toBe(true);
    const [ra, rb] = await Promise.all([pa, b!.allReduce([Float32Array.of(10, 20, 30)])]);
    expect([...ra![0]!]).toEqual([11, 22, 33]);
    expect([...rb![0]!]).toEqual([11, 22, 33]);
  });

  it('a join waits for the step boundary; a member whose connection closes is removed', async () => {
    const s = await server();
    const c = await client(s);
    const [a, b] = await members(s, 'leavers', 2);
    const pa = a!.allReduce([Float32Array.of(1)]);
    await new Promise((r) => setTimeout(r, 50)); // the step is running: the join waits for its end
    const third = c.joinSyncGroup('leavers');
    let admitted = false;
    void third.then(() => {
      admitted = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(admitted).toBe(false);
    await Promise.all([pa, b!.allReduce([Float32Array.of(1)])]);
    const t = await third;
    expect(t.rank).toBe(2);
    expect(t.history.steps.map((h) => [h.step, h.tensors[0]![0]])).toEqual([[0, 2]]);
    const generation = a!.generation;
    const pending = [a, b].map((m) => m!.allReduce([Float32Array.of(1)]));
    await c.close(); // the third never contributes: removed, the step completes without it
    const results = await Promise.all(pending);
    expect(results.map((r) => r[0]![0])).toEqual([2, 2]);
    expect(a!.generation).toBeGreaterThan(generation);
    expect([a!.size, b!.size]).toEqual([2, 2]);
  });

  it('a late joiner gets the checkpoint and the steps after it, and replicas stay identical', async () => {
    const s = await server();
    const group = await members(s, 'late', 2);
    // Replica state: w ← w + sum(contributions) each step; rank 0 checkpoints at step 3.
    const state = group.map(() => new Float32Array(4));
    const apply = (w: Float32Array, delta: Float32Array): void => {
      for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) + (delta[i] as number);
    };
    for (let step = 0; step < 6; step++) {
      if (step === 3) await group[0]!.checkpoint([state[0]!]);
      const results = await Promise.all(
        group.map((m, r) => m.allReduce([randomTensor(4, step * 10 + r + 1)])),
      );
      results.forEach((res, r) => {
        apply(state[r]!, res[0] as Float32Array);
      });
    }
    const c = await client(s);
    const late = await c.joinSyncGroup('late'); // the group is between steps: admitted at once
    expect(late.history.checkpoint?.step).toBe(3);
    const replica = Float32Array.from(late.history.checkpoint!.tensors[0] as Float32Array);
    for (const step of late.history.steps)
      if (step.tensors.length > 0) apply(replica, step.tensors[0] as Float32Array);
    expect(late.history.steps.map((h) => h.step)).toEqual([3, 4, 5]);
    expectSameBits(replica, state[0]!);
    expectSameBits(state[1]!, state[0]!);
    // It takes part from the next step on.
    const all = [...group, late];
    const sums = await Promise.all(all.map((m) => m.allReduce([Float32Array.of(1, 1, 1, 1)])));
    for (const sum of sums) expect([...sum[0]!]).toEqual([3, 3, 3, 3]);
  });

  it('the topic holds one result per step, readable by any consumer', async () => {
    const s = await server();
    const group = await members(s, 'replay', 2);
    for (let i = 0; i < 3; i++) await Promise.all(group.map((m, r) => m.allReduce([Float32Array.of(i, r)])));
    const reader = await client(s);
    const consumer = reader.consumer({ topic: 'sync-group.replay', from: 'earliest' });
    const kinds: string[] = [];
    for await (const record of consumer) {
      const { header } = decodeSyncRecord(record.value);
      kinds.push(header.kind === 'step' ? `step ${header.step}` : header.kind);
      if (kinds.length === 4) break;
    }
    expect(kinds).toEqual(['generation', 'step 0', 'step 1', 'step 2']);
  });
});
