/**
 * @module server/overview
 * The read-only picture of a running server behind `GET /v1/stats` and `GET /v1/groups`
 * (`front/http/overview.ts`), which the dashboard polls: the process, its health, connections
 * and traffic per front end, traffic per topic, and the consumer groups. Counters count since
 * the server started; a client gets rates from two readings.
 *
 * Front-end numbers come from the same instruments `/metrics` exposes (`ServerMetrics`), read
 * by label through prom-client, so this API does not depend on how metrics are named.
 *
 * @example
 * const overview = createServerOverview({ broker, log, metrics, traffic, startedAt: Date.now() });
 * const stats = await overview.stats();
 */
import { readFileSync } from 'node:fs';
import type { Counter, Gauge } from 'prom-client';
import type { TributaryBroker } from '../broker/broker.js';
import type { GroupOverview } from '../broker/group-overview.js';
import type { Log } from '../log/types.js';
import type { FrontendLabel, ServerMetrics } from './metrics.js';
import type { TopicTraffic, TopicTrafficEntry } from './traffic.js';

export interface FrontendStats {
  readonly frontend: FrontendLabel;
  /** Open connections (SSE: open streams). */
  readonly connections: number;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface ServerStats {
  readonly version: string;
  /** Node.js version, e.g. `v20.20.2`. */
  readonly node: string;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly uptimeMs: number;
  /** Like `/healthz`: `degraded` while stored data of some partition or topic is damaged. */
  readonly health: 'ok' | 'degraded';
  /** Partitions and topics kept offline because their stored data is damaged. */
  readonly damaged: number;
  readonly process: {
    readonly rssBytes: number;
    readonly heapUsedBytes: number;
    /** CPU time used since start, user + system, in µs (`process.cpuUsage`). */
    readonly cpuMicros: number;
  };
  /** Every front end, with zeros for those nothing has used yet. */
  readonly frontends: readonly FrontendStats[];
  /** Every user topic with traffic since start, sorted by name. */
  readonly topics: readonly TopicTrafficEntry[];
}

export interface ServerOverview {
  stats(): Promise<ServerStats>;
  groups(): Promise<GroupOverview[]>;
}

export const FRONTENDS: readonly FrontendLabel[] = ['ws', 'http', 'sse', 'kafka', 'mqtt', 'socketio'];

export function createServerOverview(parts: {
  readonly broker: TributaryBroker;
  readonly log: Log;
  readonly metrics: ServerMetrics;
  readonly traffic: TopicTraffic;
  readonly startedAt: number;
}): ServerOverview {
  const { broker, log, metrics, traffic, startedAt } = parts;
  const version = packageVersion();
  return {
    async stats() {
      const [connections, recordsIn, recordsOut, bytesIn, bytesOut, topics] = await Promise.all([
        byFrontend(metrics.connections),
        byFrontend(metrics.recordsIn),
        byFrontend(metrics.recordsOut),
        byFrontend(metrics.bytesIn),
        byFrontend(metrics.bytesOut),
        broker.listTopics(),
      ]);
      const existing = new Set(topics.map((topic) => topic.name));
      const perTopic = traffic.topics().filter((entry) => {
        if (existing.has(entry.topic)) return true;
        traffic.forget(entry.topic);
        return false;
      });
      const damaged = log.damage?.().length ?? 0;
      const memory = process.memoryUsage();
      const cpu = process.cpuUsage();
      return {
        version,
        node: process.version,
        startedAt,
        uptimeMs: Date.now() - startedAt,
        health: damaged === 0 ? 'ok' : 'degraded',
        damaged,
        process: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, cpuMicros: cpu.user + cpu.system },
        frontends: FRONTENDS.map((frontend) => ({
          frontend,
          connections: connections.get(frontend) ?? 0,
          recordsIn: recordsIn.get(frontend) ?? 0,
          recordsOut: recordsOut.get(frontend) ?? 0,
          bytesIn: bytesIn.get(frontend) ?? 0,
          bytesOut: bytesOut.get(frontend) ?? 0,
        })),
        topics: perTopic,
      };
    },
    groups: () => broker.describeGroups(),
  };
}

/** The values of an instrument labelled by `frontend`. */
async function byFrontend(metric: Counter<'frontend'> | Gauge<'frontend'>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const { labels, value } of (await metric.get()).values) {
    const frontend = labels.frontend;
    if (typeof frontend === 'string') out.set(frontend, (out.get(frontend) ?? 0) + value);
  }
  return out;
}

function packageVersion(): string {
  try {
    // ../../package.json from both src/server/ and dist/server/.
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
