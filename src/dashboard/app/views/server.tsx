/**
 * @module dashboard/app/views/server
 * The server: health, version and uptime, the process's memory and CPU, and per front end the
 * open connections and records in and out per second, with a chart of the totals.
 */
import { useMemo } from 'preact/hooks';
import { RateChart } from '../chart.js';
import { bytes, count, duration, rate } from '../format.js';
import { latestRate, rateSeries, useStats } from '../stats.js';
import type { StatsJson } from '../types.js';
import { ErrorNote } from './parts.js';

const FRONTEND_NAMES: Readonly<Record<string, string>> = {
  ws: 'WebSocket (SDK)',
  http: 'HTTP API',
  sse: 'Server-Sent Events',
  kafka: 'Kafka protocol',
  mqtt: 'MQTT',
  socketio: 'Socket.IO',
};

const sum = (stats: StatsJson, field: 'recordsIn' | 'recordsOut'): number =>
  stats.frontends.reduce((total, f) => total + f[field], 0);

export function ServerView() {
  const { samples, error, unavailable } = useStats();
  const latest = samples[samples.length - 1]?.stats;
  const chart = useMemo(
    () => ({
      times: samples.map((s) => s.t),
      series: [
        { label: 'in', values: rateSeries(samples, (s) => sum(s, 'recordsIn')) },
        { label: 'out', values: rateSeries(samples, (s) => sum(s, 'recordsOut')) },
      ],
    }),
    [samples],
  );
  if (unavailable) {
    return (
      <section aria-labelledby="server-title">
        <h1 id="server-title">Server</h1>
        <ErrorNote error={error} />
        <p>Server statistics need `describe` on the cluster; these credentials do not have it.</p>
      </section>
    );
  }
  const cpu = latestRate(samples, (s) => s.process.cpuMicros);
  return (
    <section aria-labelledby="server-title">
      <h1 id="server-title">Server</h1>
      <ErrorNote error={error} />
      {latest === undefined ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          <dl class="cards">
            <div class="card">
              <dt>Health</dt>
              <dd class={latest.health === 'ok' ? 'ok' : 'warn'} data-field="health">
                {latest.health === 'ok' ? 'ok' : `degraded (${latest.damaged} damaged)`}
              </dd>
            </div>
            <div class="card">
              <dt>Uptime</dt>
              <dd>{duration(latest.uptimeMs)}</dd>
            </div>
            <div class="card">
              <dt>Version</dt>
              <dd>
                {latest.version} <span class="muted small">Node {latest.node}</span>
              </dd>
            </div>
            <div class="card">
              <dt>Memory (RSS)</dt>
              <dd>{bytes(latest.process.rssBytes)}</dd>
            </div>
            <div class="card">
              <dt>CPU</dt>
              <dd>{cpu === undefined ? '–' : `${Math.round(cpu / 10_000)} %`}</dd>
            </div>
            <div class="card">
              <dt>Connections</dt>
              <dd data-field="connections">
                {count(latest.frontends.reduce((n, f) => n + f.connections, 0))}
              </dd>
            </div>
          </dl>
          <RateChart
            title="Records per second, all front ends"
            unit="rec/s"
            times={chart.times}
            series={chart.series}
          />
          <h2>Front ends</h2>
          <table class="grid">
            <caption class="sr-only">Connections and traffic per front end</caption>
            <thead>
              <tr>
                <th scope="col">Front end</th>
                <th scope="col" class="num">
                  Connections
                </th>
                <th scope="col" class="num">
                  In (rec/s)
                </th>
                <th scope="col" class="num">
                  Out (rec/s)
                </th>
                <th scope="col" class="num">
                  Records in
                </th>
                <th scope="col" class="num">
                  Records out
                </th>
              </tr>
            </thead>
            <tbody>
              {latest.frontends.map((f) => {
                const pick = (field: 'recordsIn' | 'recordsOut') => (s: StatsJson) =>
                  s.frontends.find((x) => x.frontend === f.frontend)?.[field];
                return (
                  <tr key={f.frontend} data-frontend={f.frontend}>
                    <th scope="row">{FRONTEND_NAMES[f.frontend] ?? f.frontend}</th>
                    <td class="num" data-field="connections">
                      {count(f.connections)}
                    </td>
                    <td class="num">{rate(latestRate(samples, pick('recordsIn')))}</td>
                    <td class="num">{rate(latestRate(samples, pick('recordsOut')))}</td>
                    <td class="num">{count(f.recordsIn)}</td>
                    <td class="num">{count(f.recordsOut)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
