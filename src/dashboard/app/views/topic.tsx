/**
 * @module dashboard/app/views/topic
 * One topic: its partitions (earliest and end offsets, records held, size, records in per
 * second from the end offset's growth), a chart of records in and out per second, and its config.
 */
import { useMemo } from 'preact/hooks';
import { seg } from '../api.js';
import { RateChart } from '../chart.js';
import { count, bytes as formatBytes, rate } from '../format.js';
import { ratePerSecond, usePoll } from '../hooks.js';
import { href } from '../router.js';
import { useSession } from '../session.js';
import { rateSeries, useStats } from '../stats.js';
import type { TopicJson } from '../types.js';
import { ErrorNote } from './parts.js';
import { POLL_MS } from './topics.js';

export function TopicView({ topic }: { topic: string }) {
  const { api } = useSession();
  const polled = usePoll(
    (signal) => api.get<TopicJson>(`/v1/topics/${seg(topic)}`, signal),
    POLL_MS,
    `topic:${topic}`,
  );
  const { samples, unavailable } = useStats();
  const chart = useMemo(() => {
    const pick = (field: 'recordsIn' | 'recordsOut') => (stats: (typeof samples)[number]['stats']) =>
      stats.topics.find((t) => t.topic === topic)?.[field] ?? 0;
    return {
      times: samples.map((s) => s.t),
      series: [
        { label: 'in', values: rateSeries(samples, pick('recordsIn')) },
        { label: 'out', values: rateSeries(samples, pick('recordsOut')) },
      ],
    };
  }, [samples, topic]);
  const seconds = (polled.at - polled.previousAt) / 1000;
  const before = new Map((polled.previous?.partitions ?? []).map((p) => [p.partition, p.next]));
  return (
    <section aria-labelledby="topic-title">
      <p class="crumbs">
        <a href={href({ view: 'topics' })}>Topics</a> /
      </p>
      <h1 id="topic-title">{topic}</h1>
      <div class="toolbar">
        <a class="button" href={href({ view: 'tail', topic })}>
          Live tail
        </a>
      </div>
      <ErrorNote error={polled.error} />
      {unavailable ? null : (
        <RateChart
          title={`Records per second, ${topic}`}
          unit="rec/s"
          times={chart.times}
          series={chart.series}
        />
      )}
      {polled.data === undefined ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          <h2>Partitions</h2>
          <table class="grid">
            <caption class="sr-only">Partitions of {topic}</caption>
            <thead>
              <tr>
                <th scope="col">Partition</th>
                <th scope="col" class="num">
                  Earliest offset
                </th>
                <th scope="col" class="num">
                  End offset
                </th>
                <th scope="col" class="num">
                  Records
                </th>
                <th scope="col" class="num">
                  In (rec/s)
                </th>
                <th scope="col" class="num">
                  Size
                </th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {polled.data.partitions.map((p) => (
                <tr key={p.partition} data-partition={p.partition}>
                  <th scope="row">{p.partition}</th>
                  <td class="num">{count(p.earliest)}</td>
                  <td class="num" data-field="end-offset">
                    {count(p.next)}
                  </td>
                  <td class="num">{count(p.next - p.earliest)}</td>
                  <td class="num">{rate(ratePerSecond(p.next, before.get(p.partition), seconds))}</td>
                  <td class="num">{formatBytes(p.sizeBytes)}</td>
                  <td>
                    {p.damaged === undefined ? (
                      <span class="ok">online</span>
                    ) : (
                      <span class="error">{p.damaged}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Configuration</h2>
          <dl class="config">
            {Object.entries(polled.data.config).map(([name, value]) => (
              <div key={name}>
                <dt>{name}</dt>
                <dd class="mono">{value === null ? 'none' : String(value)}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
    </section>
  );
}
