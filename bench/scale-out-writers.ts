/**
 * Many writers of one strong-collection partition on several gateways (the case partition
 * routing is for, docs/scale-out.md "Strong collections across gateways"): `clients` WebSocket
 * clients spread round-robin over `gateways` `tributary serve` processes over one nats-server,
 * each writing its own key of the collection's single partition, a plain put or (with
 * probability `casShare`) a compare-and-set on the version it last wrote, back to back for
 * `seconds`. Distinct keys: a compare-and-set is refused only if the key changed under it, so
 * refusals are expected to be none; what differs with routing is whether the gateways race for
 * the partition's `expectedLastOffset` (conflicts, each a catch-up and another append) or queue in
 * its leader's sequencer.
 *
 * Used by `bench/scale-out-collections.ts --workload writers`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectionClient, WireRequestError } from '../test/collections-helpers.js';
import { Gateways } from '../test/fixtures/gateways.js';
import { metricValue } from '../test/http-helpers.js';
import { processCpuMs } from './lib/system.js';

export interface WritersOptions {
  readonly logUrl: string;
  /** Pid of each nats-server, for their CPU. */
  readonly natsPids: readonly number[];
  readonly gateways: number;
  readonly clients: number;
  readonly seconds: number;
  /** Share of writes that are compare-and-sets (the rest are plain puts). */
  readonly casShare: number;
  /** Partition routing on the gateways (`logCollectionRouting`). */
  readonly routing: boolean;
}

export interface WritersResult {
  readonly acknowledged: number;
  readonly casAcknowledged: number;
  readonly writesPerSecond: number;
  /** Answers other than success, by error code (VERSION_MISMATCH, EXPECTED_OFFSET_MISMATCH, …). */
  readonly refused: Readonly<Record<string, number>>;
  /** Appends another gateway beat (`tributary_collection_append_conflicts_total`), all gateways. */
  readonly conflicts: number;
  /** Writes forwarded to the partition's leader (`tributary_collection_writes_routed_total`). */
  readonly forwarded: number;
  /** Appends the gateways made (`tributary_broker_append_latency_seconds_count`): batches, lost ones included. */
  readonly appends: number;
  /** Their mean time to acknowledgement. */
  readonly appendMeanMs: number;
  /** CPU µs per acknowledged write: each gateway, the nats-servers together, the clients' process. */
  readonly cpuUsPerWrite: {
    readonly gateways: readonly number[];
    readonly nats: number;
    readonly clients: number;
  };
  readonly elapsedMs: number;
}

const COLLECTION = 'writers';
const ROUTED = 'tributary_collection_writes_routed_total';
const CONFLICTS = 'tributary_collection_append_conflicts_total';
/** Every append a gateway's broker made (the collection's batches, almost all of them here). */
const APPENDS = 'tributary_broker_append_latency_seconds';

export async function runWriters(options: WritersOptions): Promise<WritersResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-writers-'));
  const config = join(dir, 'gateway.json');
  const fixture = new Gateways([options.logUrl], ['--config', config]);
  const gateways = fixture.started;
  const clients: CollectionClient[] = [];
  try {
    await writeFile(config, JSON.stringify({ logCollectionRouting: options.routing }));
    // One at a time: starting them together on a busy machine makes start-ups time out.
    for (let i = 0; i < options.gateways; i++) await fixture.start();
    const admin = await CollectionClient.connect(gateways[0]!.wsUrl);
    await admin.request('createCollection', { name: COLLECTION, mode: 'strong' });
    admin.close();
    for (let w = 0; w < options.clients; w++)
      clients.push(await CollectionClient.connect(gateways[w % gateways.length]!.wsUrl));
    // Each client's key written once (the other gateways learn of the collection from the catalog).
    const versions = await Promise.all(clients.map((client, w) => firstWrite(client, `w${w}`)));

    const counters = async (): Promise<{
      conflicts: number;
      forwarded: number;
      appends: number;
      appendSeconds: number;
    }> => {
      const sum = { conflicts: 0, forwarded: 0, appends: 0, appendSeconds: 0 };
      for (const gateway of gateways) {
        sum.conflicts += await metricValue(gateway.url, CONFLICTS);
        sum.forwarded += await metricValue(gateway.url, ROUTED, 'direction="forwarded"');
        sum.appends += await metricValue(gateway.url, `${APPENDS}_count`);
        sum.appendSeconds += await metricValue(gateway.url, `${APPENDS}_sum`);
      }
      return sum;
    };
    const before = await counters();
    const cpu = (): number[] => [
      ...gateways.map((gateway) => processCpuMs(gateway.child.pid ?? -1)),
      options.natsPids.reduce((sum, pid) => sum + processCpuMs(pid), 0),
    ];
    const cpuBefore = cpu();
    const clientsCpuBefore = process.cpuUsage();
    const started = performance.now();
    const deadline = started + options.seconds * 1000;
    let acknowledged = 0;
    let casAcknowledged = 0;
    const refused: Record<string, number> = {};
    // A seeded choice per client and write, so runs with and without routing send the same mix.
    await Promise.all(
      clients.map(async (client, w) => {
        const key = `w${w}`;
        let serial = 0;
        while (performance.now() < deadline) {
          const cas = fraction(w, serial) < options.casShare;
          try {
            const written = await client.request('collectionPut', {
              collection: COLLECTION,
              key,
              value: { v: `${key}-${serial}` },
              ...(cas ? { ifVersion: versions[w] } : {}),
            });
            versions[w] = written.version;
            acknowledged++;
            if (cas) casAcknowledged++;
          } catch (error) {
            const code = error instanceof WireRequestError ? error.code : String(error);
            refused[code] = (refused[code] ?? 0) + 1;
            if (error instanceof WireRequestError && error.code === 'VERSION_MISMATCH')
              versions[w] = Number(error.error.details.actual);
          }
          serial++;
        }
      }),
    );
    const elapsedMs = performance.now() - started;
    const cpuAfter = cpu();
    const clientsCpu = process.cpuUsage(clientsCpuBefore);
    const after = await counters();
    const perWrite = (ms: number): number => Math.round((ms * 1000) / Math.max(1, acknowledged));
    const spent = cpuAfter.map((ms, i) => ms - cpuBefore[i]!);
    return {
      acknowledged,
      casAcknowledged,
      writesPerSecond: Math.round((acknowledged * 1000) / elapsedMs),
      refused,
      conflicts: after.conflicts - before.conflicts,
      forwarded: after.forwarded - before.forwarded,
      appends: after.appends - before.appends,
      appendMeanMs: Math.round(
        ((after.appendSeconds - before.appendSeconds) * 1000) / Math.max(1, after.appends - before.appends),
      ),
      cpuUsPerWrite: {
        gateways: spent.slice(0, gateways.length).map(perWrite),
        nats: perWrite(spent[gateways.length]!),
        clients: perWrite((clientsCpu.user + clientsCpu.system) / 1000),
      },
      elapsedMs: Math.round(elapsedMs),
    };
  } finally {
    for (const client of clients) client.close();
    await fixture.stopAll('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `key` once, retrying while the gateway does not know the collection yet; its version. */
async function firstWrite(client: CollectionClient, key: string): Promise<number> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      const written = await client.request('collectionPut', {
        collection: COLLECTION,
        key,
        value: { v: key },
      });
      return written.version as number;
    } catch (error) {
      if (performance.now() > deadline || !(error instanceof WireRequestError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** A fixed pseudo-random number in [0, 1) for client `w`'s write `serial`. */
function fraction(w: number, serial: number): number {
  let h = Math.imul(w + 1, 0x9e3779b1) ^ Math.imul(serial + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h ^= h >>> 13;
  return (h >>> 0) / 4294967296;
}
