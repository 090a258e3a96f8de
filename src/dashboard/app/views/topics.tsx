/**
 * @module dashboard/app/views/topics
 * Every topic the session may describe, polled each second: partitions, records held, the sum
 * of end offsets and the rate at which it grows (records in per second).
 */
import { count, bytes as formatBytes, rate } from '../format.js';
import { ratePerSecond, usePoll } from '../hooks.js';
import { href } from '../router.js';
import { useSession } from '../session.js';
import { latestRate, useStats } from '../stats.js';
import { endOffsetSum, sizeBytes, type TopicJson, totalRecords } from '../types.js';
import { ErrorNote } from './parts.js';

export const POLL_MS = 1000;

export function TopicsView() {
  const { api } = useSession();
  const polled = usePoll(
    async (signal) => (await api.get<{ topics: TopicJson[] }>('/v1/topics', signal)).topics,
    POLL_MS,
    'topics',
  );
  const { samples } = useStats();
  const seconds = (polled.at - polled.previousAt) / 1000;
  const before = new Map((polled.previous ?? []).map((topic) => [topic.name, endOffsetSum(topic)]));
  return (
    <section aria-labelledby="topics-title">
      <h1 id="topics-title">Topics</h1>
      <ErrorNote error={polled.error} />
      {polled.data === undefined ? (
        <p class="muted">Loading…</p>
      ) : polled.data.length === 0 ? (
        <p class="muted">No topics yet. Produce a record or create a topic to see it here.</p>
      ) : (
        <table class="grid">
          <caption class="sr-only">
            Topics, their partitions, offsets and rates (records per second in and out), updated every second
          </caption>
          <thead>
            <tr>
              <th scope="col">Topic</th>
              <th scope="col" class="num">
                Partitions
              </th>
              <th scope="col" class="num">
                Records
              </th>
              <th scope="col" class="num">
                End offsets
              </th>
              <th scope="col" class="num">
                In (rec/s)
              </th>
              <th scope="col" class="num">
                Out (rec/s)
              </th>
              <th scope="col" class="num">
                Size
              </th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {polled.data.map((topic) => (
              <tr key={topic.name} data-topic={topic.name}>
                <th scope="row">
                  <a href={href({ view: 'topic', topic: topic.name })}>{topic.name}</a>
                </th>
                <td class="num">{topic.partitions.length}</td>
                <td class="num">{count(totalRecords(topic))}</td>
                <td class="num" data-field="end-offsets">
                  {count(endOffsetSum(topic))}
                </td>
                <td class="num" data-field="in-rate">
                  {rate(ratePerSecond(endOffsetSum(topic), before.get(topic.name), seconds))}
                </td>
                <td class="num" data-field="out-rate">
                  {rate(
                    latestRate(
                      samples,
                      (stats) => stats.topics.find((t) => t.topic === topic.name)?.recordsOut ?? 0,
                    ),
                  )}
                </td>
                <td class="num">{formatBytes(sizeBytes(topic))}</td>
                <td>
                  <a
                    href={href({ view: 'tail', topic: topic.name })}
                    aria-label={`Live tail of ${topic.name}`}
                  >
                    Tail
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
