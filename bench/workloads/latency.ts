/**
 * @module bench/workloads/latency
 * End-to-end latency: one publisher process sends 100 B messages at a fixed rate (10k and 50k
 * msgs/s), each stamped with its send time on the machine-wide monotonic clock; one subscriber in
 * another process records receive time − send time for every delivery after the warm-up.
 * Durable systems go through their log (Tributary topic with `fsync: 'interval'`, JetStream file
 * stream, Redis stream with XREAD BLOCK); Socket.IO and the ws floor relay in memory.
 */
import { summarize } from '../lib/stats.js';
import { formatInt, formatMs } from '../lib/table.js';
import type { SystemModule, Target } from '../systems/types.js';
import type { SendResult } from '../workers/tasks.js';
import type { RunContext } from './context.js';
import { ms, type WorkloadReport } from './metrics.js';
import { type LatencyPlan, roundOrder } from './plan.js';
import { SubscriberGroup } from './subscribers.js';

/** A run whose publisher achieved less than this fraction of the target rate is flagged. */
export const RATE_TOLERANCE = 0.95;

export function latencyVariant(rate: number): string {
  return rate >= 1000 ? `${rate / 1000}k msgs/s` : `${rate} msgs/s`;
}

export function latencySteps(plan: LatencyPlan, systems: readonly SystemModule[], repeats: number): number {
  return (
    plan.rates.length * repeats * systems.filter((module) => module.capabilities.latency !== undefined).length
  );
}

export const LATENCY_REPORT: WorkloadReport = {
  id: 'latency',
  title: 'End-to-end latency, publish → subscriber in another process (100 B)',
  metrics: [ms('p50Ms', 'p50 ms'), ms('p99Ms', 'p99 ms'), ms('p999Ms', 'p99.9 ms')],
  charts: [
    { file: 'latency-p50', title: 'End-to-end latency p50', metrics: ['p50Ms'], unit: 'ms', better: 'lower' },
    { file: 'latency-p99', title: 'End-to-end latency p99', metrics: ['p99Ms'], unit: 'ms', better: 'lower' },
    {
      file: 'latency-p999',
      title: 'End-to-end latency p99.9',
      metrics: ['p999Ms'],
      unit: 'ms',
      better: 'lower',
    },
  ],
};

export async function runLatencyWorkload(
  ctx: RunContext,
  plan: LatencyPlan,
  systems: readonly SystemModule[],
  repeats: number,
): Promise<void> {
  const participants = systems.filter((module) => module.capabilities.latency !== undefined);
  if (participants.length === 0) return;
  await ctx.startServers('latency', participants);
  try {
    for (const rate of plan.rates) {
      const variant = latencyVariant(rate);
      for (let round = 0; round < repeats; round++) {
        for (const module of roundOrder(participants, round)) {
          await ctx.measure(
            'latency',
            variant,
            module.id,
            round,
            `latency ${variant} · ${module.label}${repeats > 1 ? ` (run ${round + 1}/${repeats})` : ''}`,
            () => latencyOnce(ctx, module, plan, rate),
            (metrics) =>
              `p50 ${formatMs(metrics.p50Ms ?? Number.NaN)} ms, p99 ${formatMs(metrics.p99Ms ?? Number.NaN)} ms, ` +
              `p99.9 ${formatMs(metrics.p999Ms ?? Number.NaN)} ms at ${formatInt(metrics.achievedRate ?? Number.NaN)} msgs/s`,
          );
        }
      }
    }
  } finally {
    await ctx.stopServers();
  }
}

/** One latency run; `target` defaults to a fresh topic on the system's latency channel. */
export async function latencyOnce(
  ctx: RunContext,
  module: SystemModule,
  plan: LatencyPlan,
  rate: number,
  target: Target = ctx.target(module.id, ctx.topic('latency'), module.capabilities.latency!),
): Promise<Record<string, number>> {
  await module.prepare(target, 'durable');
  const budgetMs = plan.durationMs + plan.drainMs + 60_000;
  try {
    const { group } = await SubscriberGroup.open(
      ctx.subscribers[0]!,
      {
        type: 'subscribe',
        system: module.id,
        target,
        subscribers: 1,
        from: 'latest',
        connectConcurrency: 1,
        connectTimeoutMs: 30_000,
      },
      budgetMs,
    );
    try {
      const run = ctx.nextRun();
      const total = Math.round((rate * plan.durationMs) / 1000);
      const warmupSeq = Math.round((rate * plan.warmupMs) / 1000);
      group.expect(run, total, warmupSeq);
      const sent = await ctx.publisher.run<SendResult>(
        {
          type: 'paced',
          system: module.id,
          target,
          size: plan.size,
          run,
          rate,
          durationMs: plan.durationMs,
          window: plan.window,
        },
        budgetMs,
      ).result;
      await group.waitComplete(run, plan.drainMs);
      const stats = await group.collect(run);
      if (stats.deliveries === 0)
        throw new Error(`nothing delivered (${sent.errors} publish errors: ${sent.firstError})`);
      const latency = summarize(stats.latenciesMs);
      return {
        p50Ms: latency.p50,
        p90Ms: latency.p90,
        p99Ms: latency.p99,
        p999Ms: latency.p999,
        maxMs: latency.max,
        meanMs: latency.mean,
        achievedRate: sent.achievedRate,
        rateMissed: sent.achievedRate < RATE_TOLERANCE * rate ? 1 : 0,
        ...(sent.ackMs === undefined ? {} : { ackP50Ms: sent.ackMs.p50, ackP99Ms: sent.ackMs.p99 }),
        sent: sent.sent,
        delivered: stats.deliveries,
        deliveredFraction: stats.deliveries / Math.max(sent.sent, 1),
        publishErrors: sent.errors,
      };
    } finally {
      await group.close().catch(() => undefined);
    }
  } finally {
    await module.cleanup(target, 'durable').catch(() => undefined);
  }
}
