/**
 * @module bench/workloads/fanout
 * Fan-out: one publisher, 1,000 subscribers spread over 2 load-generator processes (one
 * connection per subscriber: WebSocket for Tributary, Socket.IO and the ws floor; NATS core
 * subscriptions; Redis Pub/Sub). Two phases on the same connections:
 *
 * 1. latency at a fixed 50 msgs/s × 1,000 = 50k deliveries/s: p50/p99 of publish → delivery;
 * 2. saturation: a burst of messages published as fast as the client allows; deliveries/s =
 *    deliveries ÷ (last delivery − first publish), i.e. how fast the server empties the burst into
 *    1,000 sockets.
 */
import { summarize } from '../lib/stats.js';
import { formatInt, formatMs } from '../lib/table.js';
import type { SystemModule, Target } from '../systems/types.js';
import type { SendResult } from '../workers/tasks.js';
import type { RunContext } from './context.js';
import { RATE_TOLERANCE } from './latency.js';
import { ms, type WorkloadReport } from './metrics.js';
import { type FanoutPlan, roundOrder } from './plan.js';
import { mergeLatencies, SubscriberGroup } from './subscribers.js';

export function fanoutSteps(systems: readonly SystemModule[], repeats: number): number {
  return repeats * systems.filter((module) => module.capabilities.fanout !== undefined).length;
}

/** Fan-out's metrics, shared by the MQTT suite's fan-out (`bench/workloads/mqtt.ts`). */
export const FANOUT_METRICS: WorkloadReport['metrics'] = [
  {
    key: 'deliveriesPerSec',
    label: 'deliveries/s at saturation',
    unit: 'deliveries/s',
    better: 'higher',
    format: formatInt,
  },
  ms('p50Ms', 'p50 ms at 50k deliveries/s'),
  ms('p99Ms', 'p99 ms at 50k deliveries/s'),
];

export const FANOUT_REPORT: WorkloadReport = {
  id: 'fanout',
  title: 'Fan-out: 1 publisher → 1,000 subscribers (2 processes)',
  metrics: FANOUT_METRICS,
  charts: [
    {
      file: 'fanout-throughput',
      title: 'Fan-out deliveries/s at saturation',
      metrics: ['deliveriesPerSec'],
      unit: 'deliveries/s',
      better: 'higher',
    },
    {
      file: 'fanout-latency',
      title: 'Fan-out latency at 50k deliveries/s',
      metrics: ['p50Ms', 'p99Ms'],
      unit: 'ms',
      better: 'lower',
    },
  ],
};

export async function runFanoutWorkload(
  ctx: RunContext,
  plan: FanoutPlan,
  systems: readonly SystemModule[],
  repeats: number,
): Promise<void> {
  const participants = systems.filter((module) => module.capabilities.fanout !== undefined);
  if (participants.length === 0) return;
  await ctx.startServers('fanout', participants);
  const variant = `${formatInt(plan.subscribers)} subscribers`;
  try {
    for (let round = 0; round < repeats; round++) {
      for (const module of roundOrder(participants, round)) {
        await ctx.measure(
          'fanout',
          variant,
          module.id,
          round,
          `fan-out ${variant} · ${module.label}${repeats > 1 ? ` (run ${round + 1}/${repeats})` : ''}`,
          () => fanoutOnce(ctx, module, plan),
          (metrics) =>
            `${formatInt(metrics.deliveriesPerSec ?? Number.NaN)} deliveries/s at saturation; ` +
            `p50 ${formatMs(metrics.p50Ms ?? Number.NaN)} ms, p99 ${formatMs(metrics.p99Ms ?? Number.NaN)} ms at ${formatInt(plan.rate * plan.subscribers)}/s`,
        );
      }
    }
  } finally {
    await ctx.stopServers();
  }
}

function split(total: number, parts: number): number[] {
  return Array.from(
    { length: parts },
    (_, index) => Math.floor(total / parts) + (index < total % parts ? 1 : 0),
  );
}

/** One fan-out run (both phases); `target` defaults to a fresh topic on the system's fan-out channel. */
export async function fanoutOnce(
  ctx: RunContext,
  module: SystemModule,
  plan: FanoutPlan,
  target: Target = ctx.target(module.id, ctx.topic('fanout'), module.capabilities.fanout!),
): Promise<Record<string, number>> {
  await module.prepare(target, 'durable');
  const budgetMs = plan.connectTimeoutMs + plan.durationMs + 2 * plan.drainMs + 60_000;
  const workers = ctx.subscribers.slice(0, plan.subscriberProcesses);
  const counts = split(plan.subscribers, workers.length);
  const opened = await Promise.allSettled(
    workers.map((worker, index) =>
      SubscriberGroup.open(
        worker,
        {
          type: 'subscribe',
          system: module.id,
          target,
          subscribers: counts[index]!,
          from: 'latest',
          connectConcurrency: 100,
          connectTimeoutMs: plan.connectTimeoutMs,
        },
        budgetMs,
      ),
    ),
  );
  const groups = opened.flatMap((entry) => (entry.status === 'fulfilled' ? [entry.value.group] : []));
  try {
    const failed = opened.find((entry) => entry.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const connectMs = Math.max(
      ...opened.map((entry) => (entry.status === 'fulfilled' ? entry.value.connectMs : 0)),
    );

    // Phase 1: latency at a fixed rate.
    const latencyRun = ctx.nextRun();
    const total = Math.round((plan.rate * plan.durationMs) / 1000);
    const warmupSeq = Math.round((plan.rate * plan.warmupMs) / 1000);
    for (const group of groups) group.expect(latencyRun, total * group.count, warmupSeq);
    const paced = await ctx.publisher.run<SendResult>(
      {
        type: 'paced',
        system: module.id,
        target,
        size: plan.size,
        run: latencyRun,
        rate: plan.rate,
        durationMs: plan.durationMs,
        window: 10_000,
      },
      budgetMs,
    ).result;
    await Promise.all(groups.map((group) => group.waitComplete(latencyRun, plan.drainMs)));
    const latencyStats = await Promise.all(groups.map((group) => group.collect(latencyRun)));
    const latency = summarize(mergeLatencies(latencyStats));
    const latencyDelivered = latencyStats.reduce((sum, stats) => sum + stats.deliveries, 0);

    // Phase 2: saturation burst.
    const burstRun = ctx.nextRun();
    for (const group of groups) group.expect(burstRun, plan.burstMessages * group.count, 0);
    const burst = await ctx.publisher.run<SendResult>(
      {
        type: 'burst',
        system: module.id,
        target,
        size: plan.size,
        run: burstRun,
        count: plan.burstMessages,
        window: plan.burstWindow,
        timeoutMs: plan.drainMs,
      },
      budgetMs,
    ).result;
    await Promise.all(groups.map((group) => group.waitComplete(burstRun, plan.drainMs)));
    const burstStats = await Promise.all(groups.map((group) => group.collect(burstRun)));
    const delivered = burstStats.reduce((sum, stats) => sum + stats.deliveries, 0);
    const lastNs = Math.max(...burstStats.map((stats) => stats.lastNs));
    const burstLatency = summarize(mergeLatencies(burstStats));
    if (delivered === 0)
      throw new Error(`nothing delivered in the burst (${burst.errors} errors: ${burst.firstError})`);

    return {
      deliveriesPerSec: (delivered * 1e9) / (lastNs - burst.startNs),
      burstDeliveredFraction: delivered / (plan.burstMessages * plan.subscribers),
      burstPublishMsgsPerSec: burst.achievedRate,
      burstP99Ms: burstLatency.p99,
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      p999Ms: latency.p999,
      maxMs: latency.max,
      achievedRate: paced.achievedRate,
      rateMissed: paced.achievedRate < RATE_TOLERANCE * plan.rate ? 1 : 0,
      deliveredFraction: latencyDelivered / Math.max(paced.sent * plan.subscribers, 1),
      connectMs,
    };
  } finally {
    await Promise.all(groups.map((group) => group.close().catch(() => undefined)));
    await module.cleanup(target, 'durable').catch(() => undefined);
  }
}
