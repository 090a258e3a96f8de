/**
 * @module bench/workloads/mqtt
 * The MQTT suite: Tributary's MQTT front end against Mosquitto and Aedes, every system driven by
 * mqtt.js (MQTT 3.1.1) from the same load-generator processes as the main suite, with the same
 * runners (publish, latency, fan-out) on MQTT targets, plus idle connections:
 *
 * - publish: QoS 0 and QoS 1, 100 B, 1 or 16 publishers. QoS 1 counts PUBACKs in the measured
 *   window; QoS 0 counts messages written in the window and ends the window when the server has
 *   confirmed it took them all in (a QoS 1 fence per connection, see `systems/mqtt-client.ts`).
 *   No subscribers.
 * - latency: publish → subscriber in another process at 1k and 10k msgs/s, QoS 0 and QoS 1 end to end.
 * - fan-out: 1 publisher → 1,000 subscribers (2 processes), QoS 0.
 * - connections: server RSS with 10,000 idle connections (CONNECT, then nothing but keep-alive),
 *   opened from 2 load-generator processes, against the same server's RSS before them.
 *
 * Each workload gets fresh servers; systems alternate within each variant (ABBA) like the main
 * suite; ratios are Tributary (`tributary-mqtt`) / peer, > 1 when Tributary is better.
 */

import { sleep } from '../lib/procs.js';
import { processMemory } from '../lib/system.js';
import { formatFixed, formatInt, formatMs } from '../lib/table.js';
import type { SystemModule, Target } from '../systems/types.js';
import type { RunContext } from './context.js';
import { FANOUT_METRICS, fanoutOnce } from './fanout.js';
import { latencyOnce, latencyVariant } from './latency.js';
import { ms, msgsPerSec, type WorkloadReport } from './metrics.js';
import {
  type FanoutPlan,
  FULL_FANOUT,
  type LatencyPlan,
  type Mode,
  type PublishPlan,
  roundOrder,
  type WorkloadId,
} from './plan.js';
import { publishOnce } from './publish.js';
import { MEMORY_REPORT } from './report.js';
import { SubscriberGroup } from './subscribers.js';

type Qos = 0 | 1;

export interface ConnectionsPlan {
  readonly connections: number;
  /** Load-generator processes the connections are spread over. */
  readonly processes: number;
  readonly connectConcurrency: number;
  readonly connectTimeoutMs: number;
  /** Wait after the last CONNACK before reading the server's RSS. */
  readonly settleMs: number;
}

export interface MqttPlan {
  readonly mode: Mode;
  readonly repeats: number;
  readonly publish?: PublishPlan & { readonly qos: readonly Qos[] };
  readonly latency?: LatencyPlan & { readonly qos: readonly Qos[] };
  readonly fanout?: FanoutPlan & { readonly qos: Qos };
  readonly connections?: ConnectionsPlan;
}

const FULL: MqttPlan = {
  mode: 'full',
  repeats: 3,
  publish: {
    qos: [0, 1],
    sizes: [100],
    publishers: [1, 16],
    durabilities: ['durable'],
    window: 1000,
    warmupMs: 1_000,
    durationMs: 5_000,
    maxMessages: 5_000_000,
  },
  latency: {
    qos: [0, 1],
    rates: [1_000, 10_000],
    size: 100,
    durationMs: 6_000,
    warmupMs: 1_000,
    window: 50_000,
    drainMs: 10_000,
  },
  fanout: { qos: 0, ...FULL_FANOUT },
  connections: {
    connections: 10_000,
    processes: 2,
    connectConcurrency: 100,
    connectTimeoutMs: 180_000,
    settleMs: 2_000,
  },
};

const QUICK: MqttPlan = {
  ...FULL,
  mode: 'quick',
  repeats: 1,
  publish: { ...FULL.publish!, warmupMs: 250, durationMs: 750 },
  latency: { ...FULL.latency!, durationMs: 1_500, warmupMs: 500, drainMs: 3_000 },
  fanout: { ...FULL.fanout!, durationMs: 2_000, warmupMs: 500, burstMessages: 100, drainMs: 15_000 },
  connections: { ...FULL.connections!, settleMs: 1_000 },
};

const SMOKE: MqttPlan = {
  mode: 'smoke',
  repeats: 1,
  latency: {
    qos: [1],
    rates: [1_000],
    size: 100,
    durationMs: 700,
    warmupMs: 200,
    window: 5_000,
    drainMs: 3_000,
  },
  connections: { ...FULL.connections!, connections: 200, connectTimeoutMs: 30_000, settleMs: 300 },
};

/** The MQTT suite's workloads: `--only` takes `publish`, `latency`, `fanout` and `connections`. */
export function makeMqttPlan(
  mode: Mode,
  options: { repeats?: number; only?: readonly WorkloadId[] } = {},
): MqttPlan {
  const base = mode === 'smoke' ? SMOKE : mode === 'quick' ? QUICK : FULL;
  const keep = (id: WorkloadId): boolean => options.only === undefined || options.only.includes(id);
  return {
    mode,
    repeats: options.repeats ?? base.repeats,
    ...(base.publish !== undefined && keep('publish') ? { publish: base.publish } : {}),
    ...(base.latency !== undefined && keep('latency') ? { latency: base.latency } : {}),
    ...(base.fanout !== undefined && keep('fanout') ? { fanout: base.fanout } : {}),
    ...(base.connections !== undefined && keep('connections') ? { connections: base.connections } : {}),
  };
}

/** Load-generator processes besides the publisher that the plan needs. */
export function mqttSubscriberProcesses(plan: MqttPlan): number {
  return Math.max(1, plan.fanout?.subscriberProcesses ?? 1, plan.connections?.processes ?? 1);
}

interface PublishVariant {
  readonly name: string;
  readonly qos: Qos;
  readonly size: number;
  readonly publishers: number;
}

function publishVariants(plan: NonNullable<MqttPlan['publish']>): PublishVariant[] {
  return plan.qos.flatMap((qos) =>
    plan.sizes.flatMap((size) =>
      plan.publishers.map((publishers) => ({
        name: `QoS ${qos}, ${size} B × ${publishers} pub`,
        qos,
        size,
        publishers,
      })),
    ),
  );
}

export function mqttSteps(plan: MqttPlan, systems: readonly SystemModule[]): number {
  const runs =
    (plan.publish === undefined ? 0 : publishVariants(plan.publish).length) +
    (plan.latency === undefined ? 0 : plan.latency.qos.length * plan.latency.rates.length) +
    (plan.fanout === undefined ? 0 : 1) +
    (plan.connections === undefined ? 0 : 1);
  return runs * plan.repeats * systems.length;
}

export const MQTT_PUBLISH_REPORT: WorkloadReport = {
  id: 'publish',
  title:
    'MQTT publish throughput, no subscribers (QoS 1: PUBACKs/s; QoS 0: messages/s the server confirmed taking in)',
  metrics: [msgsPerSec('msgsPerSec', 'msgs/s'), ms('ackP99Ms', 'PUBACK p99 ms')],
  charts: [
    {
      file: 'mqtt-publish',
      title: 'MQTT publish throughput',
      metrics: ['msgsPerSec'],
      unit: 'msgs/s',
      better: 'higher',
    },
  ],
};

export const MQTT_LATENCY_REPORT: WorkloadReport = {
  id: 'latency',
  title: 'MQTT end-to-end latency, publish → subscriber in another process (100 B)',
  metrics: [ms('p50Ms', 'p50 ms'), ms('p99Ms', 'p99 ms'), ms('p999Ms', 'p99.9 ms')],
  charts: [
    {
      file: 'mqtt-latency',
      title: 'MQTT end-to-end latency',
      metrics: ['p50Ms', 'p99Ms'],
      unit: 'ms',
      better: 'lower',
    },
  ],
};

export const MQTT_FANOUT_REPORT: WorkloadReport = {
  id: 'fanout',
  title: 'MQTT fan-out: 1 publisher → 1,000 subscribers (2 processes)',
  metrics: FANOUT_METRICS,
  charts: [
    {
      file: 'mqtt-fanout',
      title: 'MQTT fan-out deliveries/s at saturation',
      metrics: ['deliveriesPerSec'],
      unit: 'deliveries/s',
      better: 'higher',
    },
  ],
};

export const MQTT_CONNECTIONS_REPORT: WorkloadReport = {
  id: 'connections',
  title: 'MQTT idle connections: server memory (VmRSS)',
  metrics: [
    { key: 'rssMiB', label: 'RSS MiB', unit: 'MiB', better: 'lower', format: (v) => formatFixed(v, 1) },
    {
      key: 'perConnectionKiB',
      label: 'KiB per connection',
      unit: 'KiB',
      better: 'lower',
      format: (v) => formatFixed(v, 1),
    },
  ],
  charts: [
    {
      file: 'mqtt-connections',
      title: 'MQTT server RSS with idle connections',
      metrics: ['rssMiB'],
      unit: 'MiB',
      better: 'lower',
    },
  ],
};

export const MQTT_MEMORY_REPORT: WorkloadReport = {
  ...MEMORY_REPORT,
  title: 'MQTT server memory (VmRSS, MiB): at rest after start, and peak during each workload',
  charts: MEMORY_REPORT.charts.map((chart) => ({
    ...chart,
    file: 'mqtt-memory',
    title: 'MQTT server memory (RSS)',
  })),
};

export const MQTT_REPORTS: readonly WorkloadReport[] = [
  MQTT_PUBLISH_REPORT,
  MQTT_LATENCY_REPORT,
  MQTT_FANOUT_REPORT,
  MQTT_CONNECTIONS_REPORT,
  MQTT_MEMORY_REPORT,
];

const MiB = 1024 * 1024;

function mqttTarget(ctx: RunContext, module: SystemModule, prefix: string, qos: Qos): Target {
  return { ...ctx.target(module.id, ctx.topic(prefix), 'log'), qos };
}

/** Runs every variant of `run` on every system, alternating their order between rounds. */
async function eachRound(
  ctx: RunContext,
  plan: MqttPlan,
  systems: readonly SystemModule[],
  workload: WorkloadId,
  variant: string,
  run: (module: SystemModule) => Promise<Record<string, number>>,
  summary: (metrics: Record<string, number>) => string,
): Promise<void> {
  for (let round = 0; round < plan.repeats; round++) {
    for (const module of roundOrder(systems, round)) {
      await ctx.measure(
        workload,
        variant,
        module.id,
        round,
        `mqtt ${workload} ${variant} · ${module.label}${plan.repeats > 1 ? ` (run ${round + 1}/${plan.repeats})` : ''}`,
        () => run(module),
        summary,
      );
    }
  }
}

/** Runs the suite's workloads, each on a fresh set of servers. */
export async function runMqttSuite(
  ctx: RunContext,
  plan: MqttPlan,
  systems: readonly SystemModule[],
): Promise<void> {
  if (systems.length === 0) return;
  const workload = async (id: WorkloadId, body: (running: SystemModule[]) => Promise<void>) => {
    if (ctx.group.stopping) return;
    const running = await ctx.startServers(id, systems);
    try {
      await body(running);
    } finally {
      await ctx.stopServers();
    }
  };

  const publish = plan.publish;
  if (publish !== undefined) {
    await workload('publish', async (running) => {
      for (const variant of publishVariants(publish)) {
        await eachRound(
          ctx,
          plan,
          running,
          'publish',
          variant.name,
          async (module) => {
            const metrics = await publishOnce(
              ctx,
              module,
              publish,
              { ...variant, durability: 'durable' },
              mqttTarget(ctx, module, 'mqtt_publish', variant.qos),
            );
            // At QoS 0 the per-message promise only meant "written to the socket": no PUBACK latency.
            if (variant.qos === 0) {
              const { ackP50Ms: _p50, ackP99Ms: _p99, ...rest } = metrics;
              return rest;
            }
            return metrics;
          },
          (m) =>
            `${formatInt(m.msgsPerSec ?? Number.NaN)} msgs/s` +
            (m.ackP99Ms === undefined ? '' : `, PUBACK p99 ${formatMs(m.ackP99Ms)} ms`),
        );
      }
    });
  }

  const latency = plan.latency;
  if (latency !== undefined) {
    await workload('latency', async (running) => {
      for (const qos of latency.qos) {
        for (const rate of latency.rates) {
          await eachRound(
            ctx,
            plan,
            running,
            'latency',
            `QoS ${qos}, ${latencyVariant(rate)}`,
            (module) => latencyOnce(ctx, module, latency, rate, mqttTarget(ctx, module, 'mqtt_latency', qos)),
            (m) =>
              `p50 ${formatMs(m.p50Ms ?? Number.NaN)} ms, p99 ${formatMs(m.p99Ms ?? Number.NaN)} ms at ` +
              `${formatInt(m.achievedRate ?? Number.NaN)} msgs/s, ${formatFixed(100 * (m.deliveredFraction ?? Number.NaN), 1)} % delivered`,
          );
        }
      }
    });
  }

  const fanout = plan.fanout;
  if (fanout !== undefined) {
    await workload('fanout', async (running) => {
      await eachRound(
        ctx,
        plan,
        running,
        'fanout',
        `${formatInt(fanout.subscribers)} subscribers, QoS ${fanout.qos}`,
        (module) => fanoutOnce(ctx, module, fanout, mqttTarget(ctx, module, 'mqtt_fanout', fanout.qos)),
        (m) =>
          `${formatInt(m.deliveriesPerSec ?? Number.NaN)} deliveries/s at saturation ` +
          `(${formatFixed(100 * (m.burstDeliveredFraction ?? Number.NaN), 1)} % delivered); ` +
          `p50 ${formatMs(m.p50Ms ?? Number.NaN)} ms, p99 ${formatMs(m.p99Ms ?? Number.NaN)} ms`,
      );
    });
  }

  const connections = plan.connections;
  if (connections !== undefined) {
    // Fresh servers for every round: memory freed after closing connections is rarely given back
    // to the OS, so a second round on the same server would measure next to nothing.
    for (let round = 0; round < plan.repeats; round++) {
      await workload('connections', async (running) => {
        await eachRound(
          ctx,
          { ...plan, repeats: 1 },
          roundOrder(running, round),
          'connections',
          `${formatInt(connections.connections)} idle connections`,
          (module) => idleConnectionsOnce(ctx, module, connections),
          (m) =>
            `RSS ${formatFixed(m.beforeMiB ?? Number.NaN, 1)} → ${formatFixed(m.rssMiB ?? Number.NaN, 1)} MiB, ` +
            `${formatFixed(m.perConnectionKiB ?? Number.NaN, 1)} KiB per connection, ${formatInt(m.connectionsPerSec ?? Number.NaN)} connects/s`,
        );
      });
    }
  }
}

function split(total: number, parts: number): number[] {
  return Array.from(
    { length: parts },
    (_, index) => Math.floor(total / parts) + (index < total % parts ? 1 : 0),
  );
}

/** Opens the idle connections, waits for them to settle, reads the server's RSS, closes them. */
async function idleConnectionsOnce(
  ctx: RunContext,
  module: SystemModule,
  plan: ConnectionsPlan,
): Promise<Record<string, number>> {
  const pid = ctx.servers.get(module.id)?.process.pid;
  if (pid === undefined) throw new Error(`${module.id} is not running`);
  const rss = (): number => processMemory(pid)?.rssBytes ?? Number.NaN;
  const target = mqttTarget(ctx, module, 'mqtt_idle', 0);
  const before = rss();
  const workers = ctx.subscribers.slice(0, plan.processes);
  const counts = split(plan.connections, workers.length);
  const budgetMs = plan.connectTimeoutMs + plan.settleMs + 60_000;
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
          connectConcurrency: plan.connectConcurrency,
          connectTimeoutMs: plan.connectTimeoutMs,
          idle: true,
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
    await sleep(plan.settleMs);
    const after = rss();
    return {
      rssMiB: after / MiB,
      beforeMiB: before / MiB,
      perConnectionKiB: (after - before) / plan.connections / 1024,
      connectMs,
      connectionsPerSec: (plan.connections * 1000) / connectMs,
    };
  } finally {
    await Promise.all(groups.map((group) => group.close().catch(() => undefined)));
    // Let the server notice the closed sockets before the next system or round.
    await sleep(500);
  }
}
