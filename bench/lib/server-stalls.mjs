/**
 * A preload for Tributary's server in `bench/fanout-probe.ts --stalls` (`node --import` this
 * file): what could hold a delivery back inside the server process, over a measured window.
 *
 * - the event loop's delay (`monitorEventLoopDelay` at 1 ms resolution: how late a 1 ms timer
 *   ran, i.e. how long the loop was busy or the process off the CPU);
 * - garbage-collection pauses (`PerformanceObserver` of `gc` entries) by kind;
 * - the log's synchronous writes (`fs.writevSync`, which the file log appends with): a write that
 *   blocks, e.g. behind an fdatasync of the same file, blocks every delivery behind it;
 * - the process's CPU time over the window, to tell a busy loop from a descheduled one.
 *
 * On SIGUSR2 it writes what it saw since the last SIGUSR2 as JSON to the file named by
 * `TRIBUTARY_STALLS_FILE`, then starts a new window. Plain JavaScript, so the built server loads
 * it without a TypeScript loader.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const fs = require('node:fs');
const out = process.env.TRIBUTARY_STALLS_FILE;

const GC_KINDS = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental', 8: 'weak-callbacks' };

let delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
let gcs = [];
let writes = [];
let windowStart = process.hrtime.bigint();
let cpuStart = process.cpuUsage();

new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcs.push([entry.duration, entry.detail?.kind ?? 0]);
}).observe({ entryTypes: ['gc'] });

const writevSync = fs.writevSync;
fs.writevSync = function timedWritevSync(...args) {
  const start = process.hrtime.bigint();
  try {
    return writevSync.apply(this, args);
  } finally {
    writes.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
};
syncBuiltinESMExports();

function quantile(sorted, q) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function summary(values) {
  const sorted = Float64Array.from(values).sort();
  let total = 0;
  for (const value of sorted) total += value;
  return {
    count: sorted.length,
    totalMs: total,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted.length === 0 ? 0 : sorted[sorted.length - 1],
  };
}

function report() {
  const wallMs = Number(process.hrtime.bigint() - windowStart) / 1e6;
  const cpu = process.cpuUsage(cpuStart);
  const byKind = {};
  for (const [duration, kind] of gcs) {
    const name = GC_KINDS[kind] ?? String(kind);
    byKind[name] ??= [];
    byKind[name].push(duration);
  }
  return {
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    loopDelayMs: {
      p50: delay.percentile(50) / 1e6,
      p90: delay.percentile(90) / 1e6,
      p99: delay.percentile(99) / 1e6,
      p999: delay.percentile(99.9) / 1e6,
      max: delay.max / 1e6,
      samples: delay.count,
    },
    gc: Object.fromEntries(Object.entries(byKind).map(([kind, list]) => [kind, summary(list)])),
    logWrites: summary(writes),
  };
}

if (out !== undefined) {
  process.on('SIGUSR2', () => {
    fs.writeFileSync(out, JSON.stringify(report()));
    delay.disable();
    delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    gcs = [];
    writes = [];
    windowStart = process.hrtime.bigint();
    cpuStart = process.cpuUsage();
  });
}
