/**
 * Refusals of a strong collection are linearizable: a compare-and-set (`ifVersion`) refused
 * because of an earlier write of the same group commit is answered only once that write is
 * durable and applied, so a linearizable read that starts after the refusal sees the write.
 * Over real WebSocket connections to a real server (file log, `fsync: always`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CollectionClient, RestartableServer, WireRequestError } from './collections-helpers.js';
import { tempDir } from './http-helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TRIALS = 300;

describe('strong collections: refusals wait for the writes they depend on', () => {
  it(`a CAS refused because of a concurrent put is never followed by a read of the old version (${TRIALS} trials)`, async () => {
    const dir = await tempDir('tributary-refusals-');
    cleanups.push(() => dir.remove());
    const server = new RestartableServer(dir.path);
    await server.start();
    cleanups.push(() => server.stop());
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(() => CollectionClient.connect(server.wsUrl)));
    cleanups.push(() => {
      for (const client of [a, b, c, d]) client!.close();
    });
    await a!.request('createCollection', { name: 'cas', mode: 'strong' });
    const put = (client: CollectionClient, key: string, value: unknown, ifVersion?: number) =>
      client.request('collectionPut', {
        collection: 'cas',
        key,
        value: { v: value },
        ...(ifVersion === undefined ? {} : { ifVersion }),
      });
    const get = (client: CollectionClient, key: string) =>
      client.request('collectionGet', { collection: 'cas', key, consistency: 'linearizable' });

    let version = (await put(a!, 'x', 'init')).version as number;
    let refused = 0;
    const stale: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      // D keeps the sequencer busy, so A and B go out in one group commit, A first.
      const dPut = put(d!, 'y', trial);
      const aPut = put(a!, 'x', `a${trial}`);
      const bCas = put(b!, 'x', `b${trial}`, version);
      let bRefused = false;
      try {
        await bCas;
      } catch (error) {
        if (!(error instanceof WireRequestError) || error.code !== 'VERSION_MISMATCH') throw error;
        bRefused = true;
        refused++;
      }
      // C starts after B's answer arrived.
      const read = await get(c!, 'x');
      if (bRefused && read.version === version) {
        stale.push(`trial ${trial}: B refused for version ${version}, then C read version ${read.version}`);
      }
      const [aResult] = await Promise.all([aPut, dPut]);
      version = Math.max(aResult.version as number, read.version as number);
      const latest = await get(c!, 'x');
      version = latest.version as number;
    }
    expect(stale, stale.slice(0, 5).join('\n')).toEqual([]);
    expect(refused).toBeGreaterThan(TRIALS / 10);
  }, 120_000);
});
