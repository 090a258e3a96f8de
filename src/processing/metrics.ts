/**
 * @module processing/metrics
 * A worker's own numbers for its process's Prometheus registry (prom-client), read from
 * `run.status()` at every scrape. The server's `/metrics` has each pipeline's lag, watermark
 * and throughput (server/pipeline-metrics.ts); what only the worker knows is here:
 *
 * | metric | labels | value |
 * |---|---|---|
 * | `tributary_pipeline_worker_commits` | pipeline | atomic commits made by this worker |
 * | `tributary_pipeline_worker_restarts` | pipeline | failed commits, consumer errors and stalls, each followed by a restart from the committed state |
 * | `tributary_pipeline_worker_stalls` | pipeline | consumers the stall watchdog found idle with committed records left, and restarted (expected 0) |
 *
 * @example
 * const registry = new Registry();
 * registerPipelineRunMetrics(registry, run);
 * // serve `await registry.metrics()` at the worker's /metrics
 */
import { Gauge, type Registry } from '../prometheus.js';
import type { PipelineRun } from './runtime.js';

const METRICS: readonly (readonly [name: string, help: string, read: (run: PipelineRun) => number])[] = [
  [
    'tributary_pipeline_worker_commits',
    'Atomic commits made by this pipeline worker',
    (run) => run.status().commits,
  ],
  [
    'tributary_pipeline_worker_restarts',
    'Restarts of this pipeline worker from its committed state (failed commits, consumer errors, stalls)',
    (run) => run.status().restarts,
  ],
  [
    'tributary_pipeline_worker_stalls',
    'Consumers of this pipeline worker the stall watchdog found idle with committed records left, and restarted',
    (run) => run.status().stalls,
  ],
];

/** The runs each registry reports (its gauges are made once, with the first run). */
const runsOf = new WeakMap<Registry, Set<PipelineRun>>();

export function registerPipelineRunMetrics(registry: Registry, run: PipelineRun): void {
  let runs = runsOf.get(registry);
  if (runs === undefined) {
    const all = new Set<PipelineRun>();
    runs = all;
    runsOf.set(registry, all);
    for (const [name, help, read] of METRICS) {
      new Gauge({
        name,
        help,
        labelNames: ['pipeline'],
        registers: [registry],
        collect() {
          this.reset();
          for (const each of all) this.set({ pipeline: each.definition.name }, read(each));
        },
      });
    }
  }
  runs.add(run);
}
