/**
 * @module bench/workloads/report
 * Turns the measurements of a run into what people read: per workload a table with each system's
 * median [min–max] over the repeats and the Tributary/peer ratio for every peer (oriented so that
 * > 1 always means Tributary is better: faster, more throughput, lower latency, less memory), a
 * memory table, the list of places where Tributary is behind, and one SVG chart per metric group.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { median } from '../lib/stats.js';
import { barChartSvg } from '../lib/svg.js';
import { formatFixed, renderTable } from '../lib/table.js';
import { SYSTEM_IDS, type SystemId, type SystemModule } from '../systems/types.js';
import type { Measurement, MemoryRecord } from './context.js';
import { type MetricSpec, ratio, type WorkloadReport } from './metrics.js';
import type { WorkloadId } from './plan.js';

export interface Aggregate {
  readonly workload: WorkloadId | 'memory';
  readonly variant: string;
  readonly system: SystemId;
  readonly metric: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
  /** Runs of this cell that failed, with their errors. */
  readonly failures: readonly string[];
}

export interface Ratio {
  readonly workload: WorkloadId | 'memory';
  readonly variant: string;
  readonly metric: string;
  readonly peer: SystemId;
  /** > 1: Tributary better. */
  readonly ratio: number;
}

export interface SystemStatus {
  readonly module: SystemModule;
  /** Skip reason when the system cannot run here. */
  readonly skipped?: string;
}

const MiB = 1024 * 1024;

export const MEMORY_REPORT: WorkloadReport = {
  id: 'memory',
  title: 'Server memory (VmRSS, MiB): at rest after start, and peak during each workload',
  metrics: [
    { key: 'rssMiB', label: 'RSS MiB', unit: 'MiB', better: 'lower', format: (v) => formatFixed(v, 1) },
  ],
  charts: [
    { file: 'memory', title: 'Server memory (RSS)', metrics: ['rssMiB'], unit: 'MiB', better: 'lower' },
  ],
};

/** Groups successful runs per (workload, variant, system, metric) into median / min / max. */
export function aggregate(
  measurements: readonly Measurement[],
  memory: readonly MemoryRecord[],
): Aggregate[] {
  const cells = new Map<
    string,
    {
      key: Omit<Aggregate, 'median' | 'min' | 'max' | 'n' | 'failures'>;
      values: number[];
      failures: string[];
    }
  >();
  const cell = (workload: Aggregate['workload'], variant: string, system: SystemId, metric: string) => {
    const id = `${workload}\u0000${variant}\u0000${system}\u0000${metric}`;
    let found = cells.get(id);
    if (found === undefined) {
      found = { key: { workload, variant, system, metric }, values: [], failures: [] };
      cells.set(id, found);
    }
    return found;
  };
  for (const m of measurements) {
    if (!m.ok) {
      cell(m.workload, m.variant, m.system, '*').failures.push(m.error ?? 'failed');
      continue;
    }
    for (const [metric, value] of Object.entries(m.metrics)) {
      if (Number.isFinite(value)) cell(m.workload, m.variant, m.system, metric).values.push(value);
    }
  }
  const rest = new Map<SystemId, number[]>();
  for (const record of memory) {
    if (Number.isFinite(record.restRssBytes)) {
      rest.set(record.system, [...(rest.get(record.system) ?? []), record.restRssBytes / MiB]);
    }
    if (Number.isFinite(record.peakRssBytes)) {
      cell('memory', `peak, ${record.workload}`, record.system, 'rssMiB').values.push(
        record.peakRssBytes / MiB,
      );
    }
  }
  for (const [system, values] of rest)
    cell('memory', 'at rest', system, 'rssMiB').values.push(median(values));

  return [...cells.values()].map(({ key, values, failures }) => ({
    ...key,
    median: median(values),
    min: values.length > 0 ? Math.min(...values) : Number.NaN,
    max: values.length > 0 ? Math.max(...values) : Number.NaN,
    n: values.length,
    failures,
  }));
}

function find(
  aggregates: readonly Aggregate[],
  workload: string,
  variant: string,
  system: SystemId,
  metric: string,
) {
  return aggregates.find(
    (a) => a.workload === workload && a.variant === variant && a.system === system && a.metric === metric,
  );
}

function variantsOf(aggregates: readonly Aggregate[], workload: string): string[] {
  const order = workload === 'memory' ? ['at rest'] : [];
  for (const a of aggregates)
    if (a.workload === workload && !order.includes(a.variant)) order.push(a.variant);
  return order;
}

/** Tributary/peer ratios; `reference` is the Tributary system of the suite (`tributary-mqtt` for MQTT). */
export function ratios(
  aggregates: readonly Aggregate[],
  reports: readonly WorkloadReport[],
  reference: SystemId = 'tributary',
): Ratio[] {
  const out: Ratio[] = [];
  for (const report of reports) {
    const workload = report.id;
    for (const variant of variantsOf(aggregates, workload)) {
      for (const spec of report.metrics) {
        const mine = find(aggregates, workload, variant, reference, spec.key);
        if (mine === undefined || mine.n === 0) continue;
        for (const peer of SYSTEM_IDS) {
          if (peer === reference) continue;
          const theirs = find(aggregates, workload, variant, peer, spec.key);
          if (theirs === undefined || theirs.n === 0) continue;
          out.push({
            workload,
            variant,
            metric: spec.key,
            peer,
            ratio: ratio(spec, mine.median, theirs.median),
          });
        }
      }
    }
  }
  return out;
}

/** Marks cells whose runs missed their target publish rate (see `rateMissed`). */
export const RATE_MISSED_MARK = '*';

function cellText(
  a: Aggregate | undefined,
  failures: Aggregate | undefined,
  spec: MetricSpec,
  note: string,
  rateMissed: boolean,
): string {
  if (a !== undefined && a.n > 0) {
    const mark = rateMissed && spec.unit === 'ms' ? RATE_MISSED_MARK : '';
    return a.n > 1 && a.max > a.min
      ? `${spec.format(a.median)} [${spec.format(a.min)}–${spec.format(a.max)}]${mark}`
      : `${spec.format(a.median)}${mark}`;
  }
  if (failures !== undefined && failures.failures.length > 0) return 'failed';
  return note;
}

/** Whether `system` has any successful run of this variant (then a missing metric is '-', not 'n/a'). */
function ranVariant(
  aggregates: readonly Aggregate[],
  workload: string,
  variant: string,
  system: SystemId,
): boolean {
  return aggregates.some(
    (a) =>
      a.workload === workload && a.variant === variant && a.system === system && a.metric !== '*' && a.n > 0,
  );
}

/** The table of one workload: rows = variant × metric, columns = systems, then ratios vs each peer. */
export function renderWorkloadTable(
  aggregates: readonly Aggregate[],
  report: WorkloadReport,
  systems: readonly SystemStatus[],
  reference: SystemId = 'tributary',
): string | undefined {
  const workload = report.id;
  const variants = variantsOf(aggregates, workload);
  if (variants.length === 0) return undefined;
  const shown = systems.filter(
    (status) =>
      aggregates.some((a) => a.workload === workload && a.system === status.module.id) ||
      status.skipped !== undefined,
  );
  const peers = shown.filter((status) => status.module.id !== reference && status.skipped === undefined);
  const hasTributary = aggregates.some((a) => a.workload === workload && a.system === reference && a.n > 0);
  const columns = [
    { header: 'variant', align: 'left' as const },
    { header: 'metric', align: 'left' as const },
    ...shown.map((status) => ({ header: status.module.label })),
    ...(hasTributary ? peers.map((status) => ({ header: `vs ${status.module.label}` })) : []),
  ];
  const rows: string[][] = [];
  for (const variant of variants) {
    for (const spec of report.metrics) {
      const row = [variant, spec.label];
      for (const status of shown) {
        const a = find(aggregates, workload, variant, status.module.id, spec.key);
        const failed = find(aggregates, workload, variant, status.module.id, '*');
        const missed = (find(aggregates, workload, variant, status.module.id, 'rateMissed')?.max ?? 0) > 0;
        const absent = ranVariant(aggregates, workload, variant, status.module.id) ? '-' : 'n/a';
        row.push(status.skipped !== undefined ? 'skipped' : cellText(a, failed, spec, absent, missed));
      }
      if (hasTributary) {
        const mine = find(aggregates, workload, variant, reference, spec.key);
        for (const status of peers) {
          const theirs = find(aggregates, workload, variant, status.module.id, spec.key);
          const r =
            mine && theirs && mine.n > 0 && theirs.n > 0
              ? ratio(spec, mine.median, theirs.median)
              : Number.NaN;
          row.push(Number.isFinite(r) ? `${formatRatio(r)}×` : '');
        }
      }
      rows.push(row);
    }
  }
  return `${report.title}\n${renderTable(columns, rows)}`;
}

export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** One SVG per chart spec of each report; returns the files written. */
export async function writeCharts(
  dir: string,
  aggregates: readonly Aggregate[],
  reports: readonly WorkloadReport[],
  systems: readonly SystemStatus[],
  subtitle: string,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const report of reports) {
    const workload = report.id;
    const variants = variantsOf(aggregates, workload);
    if (variants.length === 0) continue;
    const series = systems.filter(
      (status) =>
        status.skipped === undefined &&
        aggregates.some((a) => a.workload === workload && a.system === status.module.id),
    );
    for (const chart of report.charts) {
      const groups = variants.flatMap((variant) =>
        chart.metrics.map((metric) => {
          const label = report.metrics.find((spec) => spec.key === metric)?.label ?? metric;
          return {
            label: chart.metrics.length > 1 ? `${variant} · ${label.split(' ')[0]}` : variant,
            bars: series.map((status) => {
              const a = find(aggregates, workload, variant, status.module.id, metric);
              return a === undefined || a.n === 0 ? undefined : { value: a.median, min: a.min, max: a.max };
            }),
          };
        }),
      );
      const svg = barChartSvg({
        title: chart.title,
        subtitle,
        unit: chart.unit,
        better: chart.better,
        series: series.map((status) => status.module.label),
        groups,
      });
      const path = join(dir, `${chart.file}.svg`);
      await writeFile(path, svg);
      written.push(path);
    }
  }
  return written;
}

/**
 * "Where Tributary is behind", one line per workload variant:
 * `latency 10k msgs/s: p50 ms 0.20× nats, 0.28× redis; p99 ms 0.29× nats`.
 */
export function behindLines(
  entries: readonly Ratio[],
  reports: readonly WorkloadReport[],
  labels: (id: SystemId) => string,
): string[] {
  const lines: string[] = [];
  for (const report of reports) {
    const variants = [...new Set(entries.filter((e) => e.workload === report.id).map((e) => e.variant))];
    for (const variant of variants) {
      const parts: string[] = [];
      for (const spec of report.metrics) {
        const behind = entries
          .filter(
            (e) => e.workload === report.id && e.variant === variant && e.metric === spec.key && e.ratio < 1,
          )
          .sort((a, b) => a.ratio - b.ratio);
        if (behind.length === 0) continue;
        parts.push(
          `${spec.label} ${behind.map((e) => `${formatRatio(e.ratio)}× ${labels(e.peer)}`).join(', ')}`,
        );
      }
      if (parts.length > 0) lines.push(`${report.id} ${variant}: ${parts.join('; ')}`);
    }
  }
  return lines;
}
