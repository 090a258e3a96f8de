import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { eventLoopDelayNetOfSamplePeriod, ServerMetrics } from './metrics.js';

/** `# TYPE name type` lines of the Prometheus text, as [name, type]. */
async function metricTypes(metrics: ServerMetrics): Promise<[string, string][]> {
  const text = await metrics.registry.metrics();
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]);
}

describe('ServerMetrics names', () => {
  it('follow the Prometheus conventions: one prefix, counters end in _total, gauges never do', async () => {
    const types = await metricTypes(new ServerMetrics());
    expect(types.length).toBeGreaterThan(30);
    for (const [name, type] of types) {
      expect(name, name).toMatch(/^tributary_[a-z0-9_]+$/);
      expect(name, name).not.toMatch(/^tributary_(process|nodejs)_(process|nodejs)_/);
      if (type === 'counter') expect(name, `${name} is a counter`).toMatch(/_total$/);
      else expect(name, `${name} is a ${type}`).not.toMatch(/_total$/);
      // A unit, when the name has one, comes last (before _total): never `bytes_in`, `seconds_max`.
      expect(name, name).not.toMatch(/_(bytes|seconds)_(?!total$)/);
    }
  });

  it('names the process metrics once: tributary_process_cpu_seconds_total, tributary_nodejs_…', async () => {
    const names = new Set((await metricTypes(new ServerMetrics())).map(([name]) => name));
    expect(names).toContain('tributary_process_cpu_seconds_total');
    expect(names).toContain('tributary_process_resident_memory_bytes');
    expect(names).toContain('tributary_nodejs_eventloop_lag_seconds');
    expect(names).toContain('tributary_nodejs_active_handles');
    expect(names).toContain('tributary_in_bytes_total');
    expect(names).not.toContain('tributary_nodejs_active_handles_total');
  });

  it("are prom-client's default metrics, loaded without its index (same names, types and help)", async () => {
    const reference = new Registry();
    collectDefaultMetrics({ register: reference, prefix: 'tributary_' });
    for (const metric of reference.getMetricsAsArray()) {
      if (metric instanceof Gauge && metric.name.endsWith('_total'))
        reference.removeSingleMetric(metric.name);
    }
    const described = (text: string): string[] =>
      text
        .split('\n')
        .filter((line) => /^# (HELP|TYPE) tributary_(process|nodejs)_/.test(line))
        .sort();
    const ours = described(await new ServerMetrics().registry.metrics());
    expect(ours.length).toBeGreaterThan(20);
    expect(ours).toEqual(described(await reference.metrics()));
    const cpu = await new ServerMetrics().registry.getSingleMetricAsString(
      'tributary_process_cpu_seconds_total',
    );
    expect(cpu).toMatch(/^tributary_process_cpu_seconds_total \d/m);
  });

  it('leaves the process metrics out on request', async () => {
    const names = (await metricTypes(new ServerMetrics({ defaultMetrics: false }))).map(([name]) => name);
    expect(names.filter((name) => /^tributary_(process|nodejs)_/.test(name))).toEqual([]);
  });
});

describe('ServerMetrics tallies', () => {
  it('count hot-path increments into their counter when it is read, once, beside plain increments', async () => {
    const metrics = new ServerMetrics({ defaultMetrics: false });
    const ws = metrics.recordsOutTally('ws');
    const again = metrics.recordsOutTally('ws');
    const delivered = metrics.deliveredTallies();
    ws.inc(3);
    again.inc();
    metrics.recordsOut.inc({ frontend: 'http' }, 5);
    delivered.records.inc(7);
    delivered.bytes.inc(700);
    metrics.bytesOutTally('mqtt').inc(40);
    const text = await metrics.registry.metrics();
    expect(text).toContain('tributary_records_out_total{frontend="ws"} 4');
    expect(text).toContain('tributary_records_out_total{frontend="http"} 5');
    expect(text).toContain('tributary_broker_records_delivered_total 7');
    expect(text).toContain('tributary_broker_delivered_bytes_total 700');
    expect(text).toContain('tributary_out_bytes_total{frontend="mqtt"} 40');
    // Read again: nothing is counted twice; later increments add up.
    ws.inc(2);
    const values = (await metrics.recordsOut.get()).values;
    expect(values.find((value) => value.labels.frontend === 'ws')?.value).toBe(6);
    expect(values.find((value) => value.labels.frontend === 'http')?.value).toBe(5);
  });
});

describe('ServerMetrics event-loop delay', () => {
  it("reports the histogram gauges of the server's registry net of its 100 ms sampling period", async () => {
    const metrics = new ServerMetrics();
    // Node's samples are the time between two runs of its 100 ms timer (period plus delay); what
    // the library sets from them comes out as the delay. Set by hand here: no timing involved.
    for (const name of ['min', 'max', 'mean', 'p50', 'p90', 'p99']) {
      const gauge = metrics.registry.getSingleMetric(`tributary_nodejs_eventloop_lag_${name}_seconds`);
      expect(gauge, name).toBeInstanceOf(Gauge);
      (gauge as Gauge).set({}, 0.1025);
      expect((await (gauge as Gauge).get()).values[0]?.value, name).toBeCloseTo(0.0025, 9);
    }
  });

  it('takes the period off every value the library sets, never below 0', async () => {
    const registry = new Registry();
    const p50 = new Gauge({
      name: 'tributary_nodejs_eventloop_lag_p50_seconds',
      help: 'p50',
      registers: [registry],
    });
    const max = new Gauge({
      name: 'tributary_nodejs_eventloop_lag_max_seconds',
      help: 'max',
      registers: [registry],
    });
    const stddev = new Gauge({
      name: 'tributary_nodejs_eventloop_lag_stddev_seconds',
      help: 'sd',
      registers: [registry],
    });
    eventLoopDelayNetOfSamplePeriod(registry, 100);
    p50.set({}, 0.1025);
    max.set(0.0999);
    stddev.set({}, 0.004);
    const text = await registry.metrics();
    const value = (name: string): number =>
      Number(new RegExp(`^tributary_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('p50')).toBeCloseTo(0.0025, 9);
    expect(value('max')).toBe(0);
    expect(value('stddev')).toBe(0.004);
  });
});
