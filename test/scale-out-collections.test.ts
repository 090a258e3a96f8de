/**
 * Strong collections across gateways route each partition's writes to one gateway
 * (`src/sync/partition-leader.ts`, docs/scale-out.md "Strong collections across gateways"): the
 * compare-and-set workload of `cas-workload.ts` with clients spread over `tributary serve`
 * gateways on one nats-server started here. Checked: every write of the other gateways' clients
 * was forwarded to the one leading the partition (the counters of /metrics), every key's history
 * is linearizable (`linearizability.ts`) and every acknowledged write is in the log at the version
 * it was acknowledged with; and with the leader SIGKILLed mid-run, writes go on through another
 * gateway once the lease TTL has passed, with the same checks.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  NATS_SERVER_BINARY,
  type NatsServers,
  startNatsServers,
} from '../src/log/jetstream/testing/nats-servers.js';
import { checkCasWorkload, runCasWorkload } from './cas-workload.js';
import { metricValue } from './http-helpers.js';

const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
const available = NATS_SERVER_BINARY !== undefined || required;
/** Short, so the failover takes seconds; long enough that a loaded machine keeps a live gateway. */
const GATEWAY_TTL_MS = 4000;
const ROUTED = 'tributary_collection_writes_routed_total';

interface Routed {
  readonly forwarded: number;
  readonly led: number;
}

async function routed(urls: readonly string[]): Promise<Routed[]> {
  return Promise.all(
    urls.map(async (url) => ({
      forwarded: await metricValue(url, ROUTED, 'direction="forwarded"').catch(() => 0),
      led: await metricValue(url, ROUTED, 'direction="led"').catch(() => 0),
    })),
  );
}

describe.skipIf(!available)('scale-out: strong collection writes routed to one gateway', () => {
  let nats: NatsServers;

  beforeEach(async () => {
    nats = await startNatsServers();
  }, 60_000);
  afterEach(async () => {
    await nats?.stop();
  });

  it('forwards the writes of clients on the other gateway to the partition leader, linearizably', async () => {
    let counts: Routed[] = [];
    const result = await runCasWorkload({
      ops: 1000,
      kills: 0,
      clients: 6,
      keys: 2,
      seed: 11,
      gateways: { logUrl: nats.urls.join(','), count: 2 },
      beforeStop: async (urls) => {
        counts = await routed(urls);
      },
    });
    const checked = checkCasWorkload(result);
    console.log(`2 gateways: ${JSON.stringify(result.stats)}, routed ${JSON.stringify(counts)}`);
    expect(result.anomalies).toEqual([]);
    expect(checked.failures).toEqual([]);
    expect(result.stats.unknownUnbounded).toBe(0);
    // The first gateway wrote the initial values, so it leads; the other forwards all its writes.
    const [leader, other] = counts as [Routed, Routed];
    expect(leader.forwarded).toBe(0);
    expect(other.led).toBe(0);
    expect(other.forwarded).toBeGreaterThan(100);
    expect(leader.led).toBe(other.forwarded);
  }, 300_000);

  it('with routing off (logCollectionRouting false) each gateway appends its own writes, still linearizably', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-routing-off-'));
    let counts: Routed[] = [];
    try {
      const config = join(dir, 'config.json');
      await writeFile(config, JSON.stringify({ logCollectionRouting: false }));
      const result = await runCasWorkload({
        ops: 600,
        kills: 0,
        clients: 6,
        keys: 2,
        seed: 11,
        gateways: { logUrl: nats.urls.join(','), count: 2, args: ['--config', config] },
        beforeStop: async (urls) => {
          counts = await routed(urls);
        },
      });
      const checked = checkCasWorkload(result);
      console.log(
        `2 gateways, routing off: ${JSON.stringify(result.stats)}, routed ${JSON.stringify(counts)}`,
      );
      expect(result.anomalies).toEqual([]);
      expect(checked.failures).toEqual([]);
      expect(result.stats.unknownUnbounded).toBe(0);
      expect(result.stats.acknowledged).toBeGreaterThan(50);
      expect(counts).toEqual([
        { forwarded: 0, led: 0 },
        { forwarded: 0, led: 0 },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('goes on through another gateway after the leader is SIGKILLed: acknowledged writes kept, linearizable', async () => {
    let before: Routed[] = [];
    let after: Routed[] = [];
    const result = await runCasWorkload({
      ops: 1200,
      kills: 1,
      clients: 6,
      keys: 2,
      seed: 11,
      gateways: {
        logUrl: nats.urls.join(','),
        count: 3,
        args: ['--log-gateway-ttl-ms', String(GATEWAY_TTL_MS)],
        killWithoutRestart: true,
      },
      beforeStop: async (urls) => {
        // Two writes through each gateway left: one of them leads, the other forwards to it.
        before = await routed(urls);
        for (const url of urls) for (let i = 0; i < 2; i++) await put(url, 'probe', { v: `${url}-${i}` });
        after = await routed(urls);
      },
    });
    const checked = checkCasWorkload(result);
    console.log(
      `3 gateways, leader killed: ${JSON.stringify(result.stats)}, routed ${JSON.stringify({ before, after })}`,
    );
    expect(result.stats.kills).toBe(1);
    expect(result.stats.acknowledgedAfterKill).toBeGreaterThan(50);
    expect(result.anomalies).toEqual([]);
    expect(checked.failures).toEqual([]);
    // Only writes in flight to the killed leader may have an unknown outcome.
    expect(result.stats.unknownUnbounded).toBe(result.stats.unknownForwarded);
    const grew = after.map((a, i) => ({
      forwarded: a.forwarded - before[i]!.forwarded,
      led: a.led - before[i]!.led,
    }));
    expect(grew.map((g) => g.forwarded).sort()).toEqual([0, 2]);
    expect(grew.map((g) => g.led).sort()).toEqual([0, 2]);
  }, 300_000);
});

async function put(url: string, key: string, value: object): Promise<void> {
  const response = await fetch(`${url}/v1/collections/registers/items/${key}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value }),
  });
  if (!response.ok) throw new Error(`PUT ${key}: ${response.status} ${await response.text()}`);
}
