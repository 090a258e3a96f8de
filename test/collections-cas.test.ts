/**
 * Strong collections stay linearizable when most compare-and-sets are refused and the server is
 * SIGKILLed: 8 clients, 3 hot keys, a real `tributary serve` child process restarted on the same
 * data directory; every answer, refusals with the value they reported included, is checked by
 * `test/linearizability.ts`. The seed is printed; the long run (tens of thousands of operations)
 * is `npm run test:linearizability`.
 */
import { describe, expect, it } from 'vitest';
import { checkCasWorkload, runCasWorkload } from './cas-workload.js';

const OPS = Number(process.env.TRIBUTARY_CAS_OPS ?? 1_500);
const KILLS = Number(process.env.TRIBUTARY_CAS_KILLS ?? 2);
const SEED = Number(process.env.TRIBUTARY_CAS_SEED ?? Date.now() % 1_000_000);

describe('strong collections: CAS-heavy histories with SIGKILLs', () => {
  it(`are linearizable, refusals included (${OPS} ops, ${KILLS} kills, seed ${SEED})`, async () => {
    const result = await runCasWorkload({ ops: OPS, kills: KILLS, seed: SEED });
    const { stats } = result;
    const { failures } = checkCasWorkload(result);
    const figures = `seed ${SEED}: ${JSON.stringify(stats)}`;
    expect(result.anomalies, figures).toEqual([]);
    expect(failures, figures).toEqual([]);
    expect(stats.kills, figures).toBe(KILLS);
    expect(stats.ops).toBeGreaterThanOrEqual(OPS);
    // Most CAS are refused, and most refusals are checked against the value they reported.
    expect(stats.casRefused, figures).toBeGreaterThan(stats.cas / 2);
    expect(stats.refusalsWithValue, figures).toBeGreaterThan(stats.casRefused / 2);
    expect(stats.unknownUnbounded, figures).toBe(0);
  }, 240_000);
});
