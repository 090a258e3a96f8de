/**
 * @module bench/workloads/scale-out-report
 * The scale-out summary (`--systems tributary-js`): per JetStream replication and per metric, raw
 * JetStream (`nats` / `nats-r3`), Tributary with 1, 2 and 3 gateways over it, what the gateway
 * layer costs (1 gateway vs raw) and what more gateways bring (2 and 3 vs 1). Ratios are oriented
 * like the rest of the harness: > 1 means the gateways do better.
 */
import { formatFixed, renderTable } from '../lib/table.js';
import type { GatewayCount, JetStreamReplicas, SystemId } from '../systems/types.js';
import { ratio, type WorkloadReport } from './metrics.js';
import type { Aggregate } from './report.js';

/** The raw JetStream peer of one replication: fan-out on it is NATS core subjects, not JetStream. */
const RAW: Readonly<Record<JetStreamReplicas, SystemId>> = { 1: 'nats', 3: 'nats-r3' };

export function scaleOutTable(
  aggregates: readonly Aggregate[],
  reports: readonly WorkloadReport[],
  replicas: readonly JetStreamReplicas[],
  gateways: readonly GatewayCount[],
): string | undefined {
  const value = (workload: string, variant: string, system: SystemId, metric: string): number => {
    const found = aggregates.find(
      (a) => a.workload === workload && a.variant === variant && a.system === system && a.metric === metric,
    );
    return found === undefined || found.n === 0 ? Number.NaN : found.median;
  };
  const rows: string[][] = [];
  for (const r of replicas) {
    for (const report of reports) {
      const variants = [...new Set(aggregates.filter((a) => a.workload === report.id).map((a) => a.variant))];
      for (const variant of variants) {
        for (const spec of report.metrics) {
          const raw = value(report.id, variant, RAW[r], spec.key);
          const byGateways = gateways.map((g) =>
            value(report.id, variant, `tributary-js-r${r}-g${g}`, spec.key),
          );
          if (byGateways.every((v) => !Number.isFinite(v))) continue;
          const one = byGateways[gateways.indexOf(1)] ?? Number.NaN;
          const show = (v: number): string => (Number.isFinite(v) ? spec.format(v) : '-');
          const showRatio = (v: number): string => (Number.isFinite(v) ? formatFixed(v) : '-');
          rows.push([
            `R${r}`,
            `${report.id} ${variant}`,
            spec.label,
            show(raw),
            ...byGateways.map(show),
            showRatio(ratio(spec, one, raw)),
            ...gateways
              .filter((g) => g > 1)
              .map((g) =>
                showRatio(ratio(spec, value(report.id, variant, `tributary-js-r${r}-g${g}`, spec.key), one)),
              ),
          ]);
        }
      }
    }
  }
  if (rows.length === 0) return undefined;
  return renderTable(
    [
      'log',
      { header: 'workload', align: 'left' },
      { header: 'metric', align: 'left' },
      'raw js',
      ...gateways.map((g) => `${g}gw`),
      '1gw vs raw',
      ...gateways.filter((g) => g > 1).map((g) => `${g}gw vs 1gw`),
    ],
    rows,
  );
}
