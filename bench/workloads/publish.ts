/**
 * @module bench/workloads/publish
 * Publish throughput with acknowledgements: 1 or 16 publishers (one connection each, each with a
 * window of unacknowledged messages), 100 B and 1 KiB payloads, for a fixed time after a warm-up.
 * Counted: acknowledgements received in the measured window. `durable` compares each system's
 * usual durable setting (Tributary `fsync: 'interval'`, JetStream file storage, Redis AOF
 * everysec); `always` the fsync-before-ack settings where they exist (Tributary `fsync: 'always'`,
 * Redis `appendfsync always`).
 */
import { formatBytes, formatInt, formatMs } from '../lib/table.js';
import type { Durability, SystemModule, Target } from '../systems/types.js';
import type { PublishResult } from '../workers/tasks.js';
import type { RunContext } from './context.js';
import { ms, msgsPerSec, type WorkloadReport } from './metrics.js';
import { type PublishPlan, roundOrder } from './plan.js';

export interface Variant {
  readonly name: string;
  readonly size: number;
  readonly publishers: number;
  readonly durability: Durability;
}

export function publishVariants(plan: PublishPlan): Variant[] {
  const variants: Variant[] = [];
  for (const durability of plan.durabilities) {
    for (const size of plan.sizes) {
      for (const publishers of plan.publishers) {
        variants.push({
          name: `${formatBytes(size)} × ${publishers} pub, ${durability === 'always' ? 'fsync always' : 'durable'}`,
          size,
          publishers,
          durability,
        });
      }
    }
  }
  return variants;
}

const capable = (module: SystemModule, durability: Durability): boolean =>
  module.capabilities.publish.includes(durability);

export function publishSteps(plan: PublishPlan, systems: readonly SystemModule[], repeats: number): number {
  return publishVariants(plan).reduce(
    (sum, variant) => sum + repeats * systems.filter((module) => capable(module, variant.durability)).length,
    0,
  );
}

export const PUBLISH_REPORT: WorkloadReport = {
  id: 'publish',
  title: 'Publish throughput, acknowledged',
  metrics: [msgsPerSec('msgsPerSec', 'acked msgs/s'), ms('ackP99Ms', 'ack p99 ms')],
  charts: [
    {
      file: 'publish',
      title: 'Publish throughput (acked)',
      metrics: ['msgsPerSec'],
      unit: 'msgs/s',
      better: 'higher',
    },
  ],
};

export async function runPublishWorkload(
  ctx: RunContext,
  plan: PublishPlan,
  systems: readonly SystemModule[],
  repeats: number,
): Promise<void> {
  const participants = systems.filter((module) => module.capabilities.publish.length > 0);
  if (participants.length === 0) return;
  await ctx.startServers('publish', participants);
  try {
    for (const variant of publishVariants(plan)) {
      const runners = participants.filter((module) => capable(module, variant.durability));
      for (let round = 0; round < repeats; round++) {
        for (const module of roundOrder(runners, round)) {
          await ctx.measure(
            'publish',
            variant.name,
            module.id,
            round,
            `publish ${variant.name} · ${module.label}${repeats > 1 ? ` (run ${round + 1}/${repeats})` : ''}`,
            () => publishOnce(ctx, module, plan, variant),
            (metrics) =>
              `${formatInt(metrics.msgsPerSec ?? Number.NaN)} msgs/s, ack p99 ${formatMs(metrics.ackP99Ms ?? Number.NaN)} ms`,
          );
        }
      }
    }
  } finally {
    await ctx.stopServers();
  }
}

/** One publish run; `target` defaults to a fresh topic of the system's log (the MQTT suite passes its own). */
export async function publishOnce(
  ctx: RunContext,
  module: SystemModule,
  plan: PublishPlan,
  variant: Variant,
  target: Target = ctx.target(module.id, ctx.topic('publish'), 'log'),
): Promise<Record<string, number>> {
  await module.prepare(target, variant.durability);
  try {
    const budgetMs = plan.warmupMs + plan.durationMs + 90_000;
    const result = await ctx.publisher.run<PublishResult>(
      {
        type: 'publish',
        system: module.id,
        target,
        size: variant.size,
        publishers: variant.publishers,
        window: plan.window,
        warmupMs: plan.warmupMs,
        durationMs: plan.durationMs,
        maxMessages: plan.maxMessages,
      },
      budgetMs,
    ).result;
    if (result.acked === 0)
      throw new Error(`no acknowledgements (${result.errors} errors: ${result.firstError})`);
    return {
      msgsPerSec: result.msgsPerSec,
      payloadMBPerSec: result.payloadMBPerSec,
      ackP50Ms: result.ackMs.p50,
      ackP99Ms: result.ackMs.p99,
      acked: result.acked,
      errors: result.errors,
    };
  } finally {
    await module.cleanup(target, variant.durability).catch(() => undefined);
  }
}
