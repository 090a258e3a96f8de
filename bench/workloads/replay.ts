/**
 * @module bench/workloads/replay
 * Replay: load N records of 100 B (not timed as a result; the fill rate is kept for reference),
 * then read them all from the start in another process as fast as the client allows: Tributary
 * consumer from `earliest`, a JetStream ordered consumer, Redis XRANGE pages of 10,000.
 */
import { formatInt } from '../lib/table.js';
import type { SystemModule } from '../systems/types.js';
import type { FillResult, ReplayTaskResult } from '../workers/tasks.js';
import type { RunContext } from './context.js';
import { msgsPerSec, type WorkloadReport } from './metrics.js';
import { type ReplayPlan, roundOrder } from './plan.js';

export function replayVariant(plan: ReplayPlan): string {
  const count = plan.records >= 1e6 ? `${plan.records / 1e6}M` : `${formatInt(plan.records / 1000)}k`;
  return `${count} × ${plan.size} B from start`;
}

export function replaySteps(systems: readonly SystemModule[], repeats: number): number {
  return repeats * systems.filter((module) => module.capabilities.replay).length;
}

export const REPLAY_REPORT: WorkloadReport = {
  id: 'replay',
  title: 'Replay: read stored records from the start',
  metrics: [msgsPerSec('recordsPerSec', 'records/s')],
  charts: [
    {
      file: 'replay',
      title: 'Replay from the start',
      metrics: ['recordsPerSec'],
      unit: 'records/s',
      better: 'higher',
    },
  ],
};

export async function runReplayWorkload(
  ctx: RunContext,
  plan: ReplayPlan,
  systems: readonly SystemModule[],
  repeats: number,
): Promise<void> {
  const participants = systems.filter((module) => module.capabilities.replay);
  if (participants.length === 0) return;
  await ctx.startServers('replay', participants);
  const variant = replayVariant(plan);
  try {
    for (let round = 0; round < repeats; round++) {
      for (const module of roundOrder(participants, round)) {
        await ctx.measure(
          'replay',
          variant,
          module.id,
          round,
          `replay ${variant} · ${module.label}${repeats > 1 ? ` (run ${round + 1}/${repeats})` : ''}`,
          () => replayOnce(ctx, module, plan),
          (metrics) =>
            `${formatInt(metrics.recordsPerSec ?? Number.NaN)} records/s (fill ${formatInt(metrics.fillRecordsPerSec ?? Number.NaN)}/s)`,
        );
      }
    }
  } finally {
    await ctx.stopServers();
  }
}

async function replayOnce(
  ctx: RunContext,
  module: SystemModule,
  plan: ReplayPlan,
): Promise<Record<string, number>> {
  const target = ctx.target(module.id, ctx.topic('replay'), 'log');
  await module.prepare(target, 'durable');
  try {
    const fill = await ctx.publisher.run<FillResult>(
      {
        type: 'fill',
        system: module.id,
        target,
        size: plan.size,
        count: plan.records,
        timeoutMs: plan.fillTimeoutMs,
      },
      plan.fillTimeoutMs + 30_000,
    ).result;
    const read = await ctx.subscribers[0]!.run<ReplayTaskResult>(
      { type: 'replay', system: module.id, target, count: plan.records },
      plan.readTimeoutMs,
    ).result;
    if (read.records < plan.records) throw new Error(`read ${read.records} of ${plan.records} records`);
    return {
      recordsPerSec: read.recordsPerSec,
      payloadMBPerSec: read.bytes / 1e6 / (read.elapsedMs / 1000),
      readMs: read.elapsedMs,
      fillRecordsPerSec: (fill.records * 1000) / fill.elapsedMs,
    };
  } finally {
    await module.cleanup(target, 'durable').catch(() => undefined);
  }
}
