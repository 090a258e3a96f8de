/**
 * Sync groups under membership churn, against a real server: thousands of steps in which
 * members leave (closing their connection, or asking) and new ones join at random (seeded,
 * printed), each joiner rebuilding its replica from the group's history (latest checkpoint, then
 * the steps after it). After every step every live replica must hold the same bits. Also: a
 * member removed after part of its contribution was reduced aborts the step, which the others
 * send again; a member that misses the step deadline is dropped; a restarted server picks the
 * group up from its topic.
 */
import { describe, expect, it } from 'vitest';
import { isTributaryError, type SyncGroupMember, type TributaryClient } from '../src/client/node/index.js';
import { SYNC_GROUP_CHUNK_BYTES } from '../src/protocol/native/sync-group-records.js';
import { CollectionClient, type RestartableServer } from './collections-helpers.js';
import { serverFixture } from './server-fixture.js';

const fixture = serverFixture('tributary-sync-churn-');
const server = fixture.server;
const client = fixture.client;

/** mulberry32: a seeded PRNG whose seed is printed, so a failure replays. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Replica {
  readonly client: TributaryClient;
  readonly member: SyncGroupMember;
  readonly state: Float32Array;
}

const WIDTH = 8;

/** The replicas' update rule: state ← state · 0.5 + result (float32 each step). */
function apply(state: Float32Array, delta: Float32Array): void {
  for (let i = 0; i < state.length; i++) state[i] = (state[i] as number) * 0.5 + (delta[i] as number);
}

async function join(s: RestartableServer, group: string, minMembers = 1): Promise<Replica> {
  const c = await client(s);
  const member = await c.joinSyncGroup(group, { minMembers });
  const { checkpoint, steps } = member.history;
  const state = checkpoint === null ? new Float32Array(WIDTH) : Float32Array.from(checkpoint.tensors[0]!);
  for (const step of steps) apply(state, step.tensors[0] as Float32Array);
  return { client: c, member, state };
}

const bits = (t: Float32Array): string => Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('hex');

describe('sync groups under churn', () => {
  it('replicas stay bit-identical over thousands of steps while members leave and join at random', {
    timeout: 120_000,
  }, async () => {
    const seed = Number(process.env.SYNC_CHURN_SEED ?? Date.now() % 1_000_000);
    console.log(`sync-group churn seed ${seed} (SYNC_CHURN_SEED=${seed} replays it)`);
    const random = prng(seed);
    const s = await server();
    let replicas = await Promise.all([0, 1, 2].map(() => join(s, 'churn', 3)));
    const STEPS = 2000;
    let joins = 0;
    let leaves = 0;
    for (let step = 0; step < STEPS; step++) {
      // Between steps: maybe a member leaves, maybe one joins, maybe rank 0 checkpoints.
      const roll = random();
      if (roll < 0.02 && replicas.length > 1) {
        const [gone] = replicas.splice(Math.floor(random() * replicas.length), 1);
        if (random() < 0.5) await gone!.member.leave();
        await gone!.client.close();
        leaves++;
        // The survivors learn about it from the generation record before their next step.
      } else if (roll < 0.04 && replicas.length < 5) {
        replicas.push(await join(s, 'churn'));
        joins++;
      } else if (roll < 0.06) {
        const first = replicas.find((r) => r.member.rank === 0);
        if (first !== undefined) await first.member.checkpoint([first.state]);
      }
      const results = await Promise.all(
        replicas.map((r) => {
          const values = new Float32Array(WIDTH);
          for (let i = 0; i < WIDTH; i++) values[i] = (random() - 0.5) * 10 ** Math.floor(random() * 6 - 2);
          return r.member.allReduce([values]);
        }),
      );
      results.forEach((result, i) => {
        apply(replicas[i]!.state, result[0] as Float32Array);
      });
      const distinct = new Set(replicas.map((r) => bits(r.state)));
      if (distinct.size !== 1) throw new Error(`step ${step} (seed ${seed}): replicas differ`);
      replicas = replicas.filter((r) => r.member.rank >= 0);
    }
    expect(joins + leaves).toBeGreaterThan(20);
    expect(replicas[0]!.member.step).toBe(STEPS);
  });

  it('a member removed after part of its contribution was reduced aborts the step; the others send it again', async () => {
    const s = await server();
    const raw = await CollectionClient.connect(s.wsUrl);
    fixture.cleanup(() => raw.close());
    const rawJoin = raw.request('syncGroupJoin', { group: 'abort', minMembers: 2 });
    const a = await join(s, 'abort', 2);
    const { memberId } = (await rawJoin) as { memberId: string };
    // A two-chunk step: the raw member sends only its first chunk.
    const length = SYNC_GROUP_CHUNK_BYTES / 4 + 10;
    const step = {
      group: 'abort',
      memberId,
      step: 0,
      attempt: 0,
      op: 'sum',
      dtype: 'float32',
      lengths: [length],
    };
    await raw.request('syncGroupContribute', {
      ...step,
      byteOffset: 0,
      data: new Uint8Array(SYNC_GROUP_CHUNK_BYTES),
    });
    const pending = a.member.allReduce([new Float32Array(length).fill(1)]);
    const stats = () => s.server!.syncGroups.stats();
    while (stats().copiedBytes === 0) await new Promise((r) => setTimeout(r, 10)); // chunk 0 is reduced
    raw.close();
    const error = await pending.catch((e: unknown) => e);
    expect(isTributaryError(error, 'SYNC_GROUP_STEP_ABORTED')).toBe(true);
    expect(stats().aborts).toBe(1);
    expect([a.member.size, a.member.rank, a.member.step]).toEqual([1, 0, 0]);
    const [again] = await a.member.allReduce([new Float32Array(length).fill(1)]);
    expect([again![0], again![length - 1], again!.length]).toEqual([1, 1, length]);
    expect(a.member.step).toBe(1);
  });

  it('a member that misses the step deadline is dropped; the step completes without it', async () => {
    const s = await server();
    const raw = await CollectionClient.connect(s.wsUrl);
    fixture.cleanup(() => raw.close());
    const rawJoin = raw.request('syncGroupJoin', { group: 'late', minMembers: 2, stepTimeoutMs: 300 });
    const a = await join(s, 'late', 2);
    const { memberId } = (await rawJoin) as { memberId: string };
    const started = Date.now();
    const result = await a.member.reduceStep([Float32Array.of(4)], 'sum');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(result.end.contributors).toEqual([a.member.memberId]);
    expect(a.member.members).toEqual([a.member.memberId]);
    const late = await raw
      .request('syncGroupContribute', {
        group: 'late',
        memberId,
        step: 0,
        attempt: 0,
        op: 'sum',
        dtype: 'float32',
        lengths: [1],
        byteOffset: 0,
        data: new Uint8Array(4),
      })
      .catch((e: { code?: string }) => e);
    expect((late as { code?: string }).code).toBe('SYNC_GROUP_NOT_MEMBER');
  });

  it('a restarted server picks the group up from its topic: the next step and the history', async () => {
    const s = await server();
    const [a, b] = await Promise.all([join(s, 'restart', 2), join(s, 'restart', 2)]);
    for (let i = 0; i < 3; i++) {
      const results = await Promise.all(
        [a, b].map((r, k) => r.member.allReduce([new Float32Array(WIDTH).fill(i * 3 + k + 0.1)])),
      );
      results.forEach((res, k) => {
        apply([a, b][k]!.state, res[0] as Float32Array);
      });
    }
    await s.restart();
    const c = await join(s, 'restart');
    expect(c.member.step).toBe(3);
    expect(c.member.history.steps.map((h) => h.step)).toEqual([0, 1, 2]);
    expect(bits(c.state)).toBe(bits(a.state));
    expect(bits(b.state)).toBe(bits(a.state));
    const [sum] = await c.member.allReduce([Float32Array.of(7)]);
    expect(sum![0]).toBe(7);
    expect(c.member.step).toBe(4);
  });
});
