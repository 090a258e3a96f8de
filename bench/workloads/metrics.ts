/**
 * @module bench/workloads/metrics
 * How each workload's numbers are shown: which metrics become table rows, which way is better
 * (that decides the direction of the Tributary/peer ratio), and which charts are drawn.
 */
import { formatInt, formatMs } from '../lib/table.js';
import type { WorkloadId } from './plan.js';

export interface MetricSpec {
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly format: (value: number) => string;
}

export interface ChartSpec {
  /** File name without extension, e.g. `latency-p99`. */
  readonly file: string;
  readonly title: string;
  /** Metrics shown side by side in each variant's group (same unit). */
  readonly metrics: readonly string[];
  readonly unit: string;
  readonly better: 'higher' | 'lower';
}

export interface WorkloadReport {
  /** A workload, or `memory` for the server memory table. */
  readonly id: WorkloadId | 'memory';
  readonly title: string;
  readonly metrics: readonly MetricSpec[];
  readonly charts: readonly ChartSpec[];
}

export const msgsPerSec = (key: string, label: string): MetricSpec => ({
  key,
  label,
  unit: 'msgs/s',
  better: 'higher',
  format: formatInt,
});

export const ms = (key: string, label: string): MetricSpec => ({
  key,
  label,
  unit: 'ms',
  better: 'lower',
  format: formatMs,
});

/** Which side of a ratio is Tributary: ratio > 1 always means Tributary is better. */
export function ratio(spec: Pick<MetricSpec, 'better'>, tributary: number, peer: number): number {
  if (!Number.isFinite(tributary) || !Number.isFinite(peer) || tributary <= 0 || peer <= 0) return Number.NaN;
  return spec.better === 'higher' ? tributary / peer : peer / tributary;
}
