/**
 * Smoke test of the comparison benchmark harness (`bench/run.ts`). CI never runs the real
 * benchmark; this runs it in `--smoke` mode (a few seconds: one small end-to-end latency run per
 * available system, every server started by the harness on free loopback ports) and checks that a
 * well-formed table, JSON file and SVG charts come out. Nothing here asserts on speed: the numbers
 * only have to be numbers.
 *
 * The same run includes the MQTT suite's smoke: one QoS 1 latency run and 200 idle connections
 * per MQTT system (Tributary's MQTT front end, Mosquitto, Aedes), with its own tables and its own
 * section of the results file (`results.mqtt`).
 *
 * nats-server, redis-server and mosquitto are needed for their columns; without them they are
 * reported as skipped (with the install command), which is fine on a laptop and a failure in CI
 * (TRIBUTARY_REQUIRE_SERVICES=1).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const RUN = join(ROOT, 'bench/run.ts');
/** A bound so a hung harness fails the test instead of the CI job; not a performance expectation. */
const RUN_BOUND_MS = 240_000;
const SYSTEM_IDS = ['tributary', 'nats', 'redis', 'socketio', 'ws'];
const MQTT_SYSTEM_IDS = ['tributary-mqtt', 'mosquitto', 'aedes'];
const MQTT_LABELS = ['tributary', 'mosquitto', 'aedes'];
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';

interface Measurement {
  workload: string;
  variant: string;
  system: string;
  round: number;
  ok: boolean;
  error?: string;
  metrics: Record<string, number>;
}

interface SystemEntry {
  id: string;
  label: string;
  status: 'ran' | 'skipped';
  reason?: string;
  version: string;
}

interface Aggregate {
  workload: string;
  variant: string;
  system: string;
  metric: string;
  median: number;
  n: number;
}

interface MqttResults {
  systems: SystemEntry[];
  measurements: Measurement[];
  aggregates: Aggregate[];
  ratios: { peer: string; ratio: number }[];
  charts: string[];
}

interface Results {
  benchmark: string;
  machine: { cpuCount: number };
  results: {
    loadAverage: { start: number[]; end: number[] };
    mqtt: MqttResults;
    mode: string;
    systems: SystemEntry[];
    measurements: Measurement[];
    memory: { workload: string; system: string; restRssBytes: number; peakRssBytes: number }[];
    aggregates: Aggregate[];
    ratios: { peer: string; ratio: number }[];
    charts: string[];
  };
}

let output = { code: -1 as number | null, stdout: '', stderr: '' };
let resultsDir = '';
let results: Results;

function runHarness(args: readonly string[]): Promise<typeof output> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUN, ...args], {
      cwd: ROOT,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new Error(`bench --smoke did not finish within ${RUN_BOUND_MS} ms\n${stderr}`));
    }, RUN_BOUND_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** The table whose title line starts with `title`: its header cells and its rows' cells. */
function tableAfter(title: string): { header: string[]; rows: string[][] } {
  const lines = output.stdout.split('\n');
  const at = lines.findIndex((line) => line.startsWith(title));
  expect(at, `no "${title}" table in\n${output.stdout}`).toBeGreaterThanOrEqual(0);
  expect(lines[at + 2]).toMatch(/^-+( {2}-+)+$/);
  const rows: string[][] = [];
  for (let i = at + 3; i < lines.length && lines[i]!.trim() !== '' && !lines[i]!.startsWith('('); i++) {
    rows.push(lines[i]!.split(/ {2,}/));
  }
  return { header: lines[at + 1]!.split(/ {2,}/), rows };
}

describe('bench/run.ts --smoke', () => {
  beforeAll(async () => {
    resultsDir = await mkdtemp(join(tmpdir(), 'tributary-bench-smoke-'));
    output = await runHarness(['--smoke', '--results-dir', resultsDir]);
    const path = /^Results: (.+\.json)$/m.exec(output.stdout)?.[1];
    if (path === undefined) throw new Error(`no "Results:" line\n${output.stdout}\n${output.stderr}`);
    results = JSON.parse(readFileSync(path, 'utf8')) as Results;
  }, RUN_BOUND_MS + 10_000);

  afterAll(async () => {
    if (resultsDir !== '') await rm(resultsDir, { recursive: true, force: true });
  });

  it('exits 0 and writes its files under --results-dir', () => {
    expect(output.code, output.stderr).toBe(0);
    expect(output.stdout).toContain(`Results: ${resultsDir}`);
  });

  it('prints a latency table with one column per system and a row per percentile', () => {
    const lines = output.stdout.split('\n');
    const title = lines.findIndex((line) => line.startsWith('End-to-end latency'));
    expect(title, output.stdout).toBeGreaterThanOrEqual(0);
    const header = lines[title + 1]!.split(/ {2,}/);
    expect(header.slice(0, 2)).toEqual(['variant', 'metric']);
    for (const system of results.results.systems) expect(header).toContain(system.label);
    expect(lines[title + 2]).toMatch(/^-+( {2}-+)+$/);
    const rows = lines.slice(title + 3, title + 6).map((line) => line.split(/ {2,}/));
    expect(rows.map((row) => row[1])).toEqual(['p50 ms', 'p99 ms', 'p99.9 ms']);
    for (const row of rows) {
      expect(row[0]).toBe('1k msgs/s');
      // A number (or a marker for a failed / skipped system) in every system column.
      for (const cell of row.slice(2, 2 + results.results.systems.length)) {
        expect(cell).toMatch(/^(\d[\d,.]*\*?|failed|skipped|n\/a)$/);
      }
    }
  });

  it('reports every system, as ran or skipped with a reason', () => {
    expect(results.benchmark).toBe('compare');
    expect(results.results.mode).toBe('smoke');
    expect(results.machine.cpuCount).toBeGreaterThan(0);
    expect(results.results.systems.map((system) => system.id)).toEqual(SYSTEM_IDS);
    for (const system of results.results.systems) {
      expect(['ran', 'skipped']).toContain(system.status);
      if (system.status === 'skipped') expect(system.reason).toMatch(/^skipped: /);
      if (required) expect(system.status, `${system.id}: ${system.reason}`).toBe('ran');
    }
  });

  it('has one well-formed latency measurement per system that ran', () => {
    const ran = results.results.systems
      .filter((system) => system.status === 'ran')
      .map((system) => system.id);
    const measurements = results.results.measurements;
    expect(measurements.map((m) => m.system).sort()).toEqual([...ran].sort());
    for (const m of measurements) {
      expect(m.workload).toBe('latency');
      expect(m.variant).toBe('1k msgs/s');
      if (!m.ok) {
        expect(m.error).toBeTruthy();
        continue;
      }
      const { p50Ms, p99Ms, p999Ms, delivered } = m.metrics;
      for (const value of [p50Ms, p99Ms, p999Ms]) {
        expect(Number.isFinite(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(0);
      }
      expect(p50Ms).toBeLessThanOrEqual(p99Ms!);
      expect(p99Ms).toBeLessThanOrEqual(p999Ms!);
      expect(delivered).toBeGreaterThan(0);
    }
    expect(measurements.some((m) => m.ok)).toBe(true);
    if (required) {
      expect(measurements.filter((m) => !m.ok).map((m) => `${m.system}: ${m.error}`)).toEqual([]);
    }
  });

  it('aggregates, ratios and memory match the measurements', () => {
    for (const m of results.results.measurements.filter((entry) => entry.ok)) {
      const p50 = results.results.aggregates.find(
        (a) => a.workload === 'latency' && a.system === m.system && a.metric === 'p50Ms',
      );
      expect(p50?.n).toBe(1);
      expect(p50?.median).toBeCloseTo(m.metrics.p50Ms!, 9);
    }
    for (const entry of results.results.ratios) {
      expect(SYSTEM_IDS).toContain(entry.peer);
      expect(entry.peer).not.toBe('tributary');
    }
    const ran = results.results.systems.filter((system) => system.status === 'ran');
    for (const system of ran) {
      const memory = results.results.memory.find((entry) => entry.system === system.id);
      if (memory !== undefined) expect(memory.restRssBytes).toBeGreaterThan(0);
    }
  });

  it('writes one standalone SVG per chart', () => {
    expect(results.results.charts.length).toBeGreaterThanOrEqual(1);
    for (const chart of results.results.charts) {
      expect(chart.startsWith(resultsDir)).toBe(true);
      expect(existsSync(chart)).toBe(true);
      const svg = readFileSync(chart, 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    }
  });

  it('prints the MQTT tables: latency and idle connections, with ratios against the peers that ran', () => {
    const mqtt = results.results.mqtt;
    const ran = mqtt.systems.filter((system) => system.status === 'ran').map((system) => system.id);
    const latency = tableAfter('MQTT end-to-end latency');
    expect(latency.header.slice(0, 2)).toEqual(['variant', 'metric']);
    expect(latency.header.slice(2, 5)).toEqual(MQTT_LABELS);
    const peersThatRan = ran.filter((id) => id !== 'tributary-mqtt');
    if (ran.includes('tributary-mqtt')) {
      expect(latency.header.slice(5)).toEqual(peersThatRan.map((id) => `vs ${id}`));
    }
    expect(latency.rows.map((row) => row[1])).toEqual(['p50 ms', 'p99 ms', 'p99.9 ms']);
    for (const row of latency.rows) {
      expect(row[0]).toBe('QoS 1, 1k msgs/s');
      for (const cell of row.slice(2, 5)) expect(cell).toMatch(/^(\d[\d,.]*\*?|failed|skipped)$/);
      for (const cell of row.slice(5)) expect(cell).toMatch(/^\d[\d.]*×$/);
    }
    const idle = tableAfter('MQTT idle connections');
    expect(idle.header.slice(2, 5)).toEqual(MQTT_LABELS);
    expect(idle.rows.map((row) => [row[0], row[1]])).toEqual([
      ['200 idle connections', 'RSS MiB'],
      ['200 idle connections', 'KiB per connection'],
    ]);
    for (const row of idle.rows) {
      for (const cell of row.slice(2, 5)) expect(cell).toMatch(/^(-?\d[\d,.]*|failed|skipped)$/);
    }
    expect(output.stdout).toMatch(/^\(Persistence: Tributary appends every message to its log/m);
    expect(output.stdout).toMatch(/^Machine: \d+ × .+; load average \(1 min\) [\d.]+ at the start/m);
    expect(results.results.loadAverage.start).toHaveLength(3);
  });

  it('reports every MQTT system and one well-formed measurement per workload for each that ran', () => {
    const mqtt = results.results.mqtt;
    expect(mqtt.systems.map((system) => system.id)).toEqual(MQTT_SYSTEM_IDS);
    for (const system of mqtt.systems) {
      if (system.status === 'skipped') expect(system.reason).toMatch(/^skipped: /);
      if (required) expect(system.status, `${system.id}: ${system.reason}`).toBe('ran');
    }
    const ran = mqtt.systems.filter((system) => system.status === 'ran').map((system) => system.id);
    expect(ran).toContain('aedes');
    for (const workload of ['latency', 'connections']) {
      const measured = mqtt.measurements.filter((m) => m.workload === workload);
      expect(measured.map((m) => m.system).sort(), workload).toEqual([...ran].sort());
    }
    for (const m of mqtt.measurements) {
      if (!m.ok) {
        expect(m.error).toBeTruthy();
        continue;
      }
      if (m.workload === 'latency') {
        const { p50Ms, p99Ms, p999Ms, delivered } = m.metrics;
        expect(p50Ms).toBeGreaterThanOrEqual(0);
        expect(p50Ms).toBeLessThanOrEqual(p99Ms!);
        expect(p99Ms).toBeLessThanOrEqual(p999Ms!);
        expect(delivered).toBeGreaterThan(0);
      } else {
        expect(m.variant).toBe('200 idle connections');
        expect(m.metrics.rssMiB).toBeGreaterThan(0);
        expect(Number.isFinite(m.metrics.perConnectionKiB)).toBe(true);
        expect(m.metrics.connectionsPerSec).toBeGreaterThan(0);
      }
    }
    if (required) {
      expect(mqtt.measurements.filter((m) => !m.ok).map((m) => `${m.system}: ${m.error}`)).toEqual([]);
    }
    for (const entry of mqtt.ratios) {
      expect(['mosquitto', 'aedes']).toContain(entry.peer);
      expect(entry.ratio).toBeGreaterThan(0);
    }
    expect(mqtt.charts.length).toBeGreaterThanOrEqual(1);
    for (const chart of mqtt.charts) expect(results.results.charts).toContain(chart);
  });
});
