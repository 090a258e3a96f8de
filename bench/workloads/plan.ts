/**
 * @module bench/workloads/plan
 * How much of each workload a run does: `full` (the default, ~15–20 min on 2 cores), `--quick`
 * (< 2 min, one repeat, shorter windows, a smaller replay) and `--smoke` (a few seconds: one small
 * latency run per system, for the CI smoke test). Every number is a bound on count or time.
 */
import type { Durability } from '../systems/types.js';

export type Mode = 'full' | 'quick' | 'smoke';
/** `connections` (idle connections' memory) is a workload of the MQTT suite only (`./mqtt.ts`). */
export type WorkloadId = 'publish' | 'latency' | 'fanout' | 'replay' | 'connections';
export const WORKLOAD_IDS: readonly WorkloadId[] = ['publish', 'latency', 'fanout', 'replay', 'connections'];

export interface PublishPlan {
  readonly sizes: readonly number[];
  readonly publishers: readonly number[];
  readonly durabilities: readonly Durability[];
  /** Unacknowledged messages per publisher. */
  readonly window: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly maxMessages: number;
}

export interface LatencyPlan {
  readonly rates: readonly number[];
  readonly size: number;
  /** Total publishing time per run; the first `warmupMs` of it are not counted. */
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Unacknowledged messages the paced publisher may have outstanding. */
  readonly window: number;
  /** How long deliveries may trail the last publish before the run is cut off. */
  readonly drainMs: number;
}

export interface FanoutPlan {
  readonly subscribers: number;
  /** Subscriber processes the subscribers are spread over. */
  readonly subscriberProcesses: number;
  readonly size: number;
  /** Publish rate of the latency phase (× subscribers = deliveries/s). */
  readonly rate: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Messages of the saturation burst (× subscribers = deliveries). */
  readonly burstMessages: number;
  readonly burstWindow: number;
  readonly drainMs: number;
  readonly connectTimeoutMs: number;
}

export interface ReplayPlan {
  readonly records: number;
  readonly size: number;
  readonly fillTimeoutMs: number;
  readonly readTimeoutMs: number;
}

export interface Plan {
  readonly mode: Mode;
  readonly repeats: number;
  readonly publish?: PublishPlan;
  readonly latency?: LatencyPlan;
  readonly fanout?: FanoutPlan;
  readonly replay?: ReplayPlan;
}

/** The full mode's fan-out plan, also the MQTT suite's (`bench/workloads/mqtt.ts`, at QoS 0). */
export const FULL_FANOUT: FanoutPlan = {
  subscribers: 1000,
  subscriberProcesses: 2,
  size: 100,
  rate: 50,
  durationMs: 10_000,
  warmupMs: 2_000,
  burstMessages: 1000,
  burstWindow: 1000,
  drainMs: 60_000,
  connectTimeoutMs: 120_000,
};

const FULL: Plan = {
  mode: 'full',
  repeats: 3,
  publish: {
    sizes: [100, 1024],
    publishers: [1, 16],
    durabilities: ['durable', 'always'],
    window: 1000,
    warmupMs: 1_000,
    durationMs: 5_000,
    maxMessages: 5_000_000,
  },
  latency: {
    rates: [10_000, 50_000],
    size: 100,
    durationMs: 11_000,
    warmupMs: 1_000,
    window: 50_000,
    drainMs: 10_000,
  },
  fanout: FULL_FANOUT,
  replay: { records: 1_000_000, size: 100, fillTimeoutMs: 180_000, readTimeoutMs: 120_000 },
};

const QUICK: Plan = {
  mode: 'quick',
  repeats: 1,
  publish: { ...FULL.publish!, warmupMs: 250, durationMs: 750 },
  latency: { ...FULL.latency!, durationMs: 1_500, warmupMs: 500, drainMs: 3_000 },
  fanout: { ...FULL.fanout!, durationMs: 2_000, warmupMs: 500, burstMessages: 100, drainMs: 15_000 },
  replay: { ...FULL.replay!, records: 200_000, fillTimeoutMs: 40_000, readTimeoutMs: 30_000 },
};

const SMOKE: Plan = {
  mode: 'smoke',
  repeats: 1,
  latency: { rates: [1_000], size: 100, durationMs: 700, warmupMs: 200, window: 5_000, drainMs: 3_000 },
};

export function makePlan(mode: Mode, options: { repeats?: number; only?: readonly WorkloadId[] } = {}): Plan {
  const base = mode === 'smoke' ? SMOKE : mode === 'quick' ? QUICK : FULL;
  const keep = (id: WorkloadId): boolean => options.only === undefined || options.only.includes(id);
  return {
    mode,
    repeats: options.repeats ?? base.repeats,
    ...(base.publish !== undefined && keep('publish') ? { publish: base.publish } : {}),
    ...(base.latency !== undefined && keep('latency') ? { latency: base.latency } : {}),
    ...(base.fanout !== undefined && keep('fanout') ? { fanout: base.fanout } : {}),
    ...(base.replay !== undefined && keep('replay') ? { replay: base.replay } : {}),
  };
}

/** Systems in the order of one round: forward on even rounds, reversed on odd ones (ABBA). */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}
