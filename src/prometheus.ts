/**
 * @module prometheus
 * prom-client's metric classes and process metrics, loaded from its own files instead of its
 * index: the index also loads `@opentelemetry/api` (about 50 modules and 3 MiB of RSS, for
 * exemplars of the process CPU counter, which Tributary does not use) and the Pushgateway and
 * cluster code. Every module of Tributary takes prom-client's values from here; types may still
 * come from `prom-client`. The classes are prom-client's own (the index requires the same files),
 * so metrics made here and by code using the index mix in one registry.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const require = createRequire(import.meta.url);

export const Counter = require('prom-client/lib/counter.js') as typeof PromClient.Counter;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export const Gauge = require('prom-client/lib/gauge.js') as typeof PromClient.Gauge;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export const Histogram = require('prom-client/lib/histogram.js') as typeof PromClient.Histogram;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export const Registry = require('prom-client/lib/registry.js') as typeof PromClient.Registry;
export type Registry = PromClient.Registry;
export type { CounterConfiguration } from 'prom-client';

/** What prom-client's `collectDefaultMetrics` passes each of its process metrics. */
interface ProcessMetricConfig {
  readonly prefix: string;
  readonly eventLoopMonitoringPrecision: number;
}
type ProcessMetric = (registry: Registry, config: ProcessMetricConfig) => void;

/**
 * prom-client's default metrics (`collectDefaultMetrics`), the same files in the same order,
 * except the process CPU counters, which {@link processCpuMetric} makes without the exemplar
 * support that loads OpenTelemetry.
 */
export function collectProcessMetrics(registry: Registry, config: ProcessMetricConfig): void {
  processCpuMetric(registry, config.prefix);
  const names = [
    'processStartTime',
    'osMemoryHeap',
    'processOpenFileDescriptors',
    'processMaxFileDescriptors',
    'eventLoopLag',
    // As in prom-client: only where Node has process.getActiveResourcesInfo (Node ≥ 17.3).
    ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
    'processHandles',
    'processRequests',
    'heapSizeAndUsed',
    'heapSpacesSizeAndUsed',
    'version',
    'gc',
  ];
  for (const name of names) {
    (require(`prom-client/lib/metrics/${name}.js`) as ProcessMetric)(registry, config);
  }
}

/**
 * `process_cpu_user_seconds_total`, `process_cpu_system_seconds_total` and
 * `process_cpu_seconds_total` as prom-client makes them: CPU time since they were made, added
 * when the first of them is collected.
 */
function processCpuMetric(registry: Registry, prefix: string): void {
  let last = process.cpuUsage();
  const registers = [registry];
  const user = new Counter({
    name: `${prefix}process_cpu_user_seconds_total`,
    help: 'Total user CPU time spent in seconds.',
    registers,
    collect() {
      const now = process.cpuUsage();
      const userMicros = now.user - last.user;
      const systemMicros = now.system - last.system;
      last = now;
      user.inc(userMicros / 1e6);
      system.inc(systemMicros / 1e6);
      total.inc((userMicros + systemMicros) / 1e6);
    },
  });
  const system = new Counter({
    name: `${prefix}process_cpu_system_seconds_total`,
    help: 'Total system CPU time spent in seconds.',
    registers,
  });
  const total = new Counter({
    name: `${prefix}process_cpu_seconds_total`,
    help: 'Total user and system CPU time spent in seconds.',
    registers,
  });
}
