/**
 * @module server/metrics
 * Prometheus metrics of one server process (prom-client), served as text at `GET /metrics`.
 * Every front end counts into the same instruments, labelled by `frontend` (ws, http, sse, kafka, mqtt).
 *
 * @example
 * const metrics = new ServerMetrics();
 * metrics.recordsIn.inc({ frontend: 'http' }, records.length);
 * res.end(await metrics.registry.metrics());
 */

import type { LabelValues } from 'prom-client';
import {
  Counter,
  type CounterConfiguration,
  collectProcessMetrics as collectPromClientProcessMetrics,
  Gauge,
  Registry,
} from '../prometheus.js';
import { BucketHistogram, type HistogramChild } from './bucket-histogram.js';
import { PipelineMetrics } from './pipeline-metrics.js';

/** From 100 µs (a group commit on a fast disk) to 1 s. */
const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

export type FrontendLabel = 'ws' | 'http' | 'sse' | 'kafka' | 'socketio' | 'mqtt';

/** Increments of one counter and label set, taken on a hot path (see `TalliedCounter`). */
export interface Tally {
  inc(value?: number): void;
}

/** What one front end counts per append: records acknowledged and the append's latency. */
export interface AppendTally {
  readonly records: Tally;
  /** Seconds from the produce request's arrival to its durable acknowledgement. */
  readonly latency: HistogramChild;
}

/**
 * A counter whose hot-path increments are summed in plain numbers and added to it when it is
 * collected (a scrape of `/metrics`, `get()`). prom-client hashes the label set and validates it
 * on every `inc`, bound labels included: in fan-out that was paid per delivery and subscriber,
 * about 4 % of the server's time at 50k deliveries/s. A tally per label set is made once and
 * shared, so tallies do not grow with connections.
 */
class TalliedCounter<T extends string> {
  readonly counter: Counter<T>;
  readonly #tallies: {
    readonly key: string;
    readonly labels: Partial<Record<T, string>>;
    pending: number;
  }[] = [];

  constructor(config: CounterConfiguration<T>) {
    const tallies = this.#tallies;
    this.counter = new Counter<T>({
      ...config,
      collect(this: Counter<T>) {
        for (const tally of tallies) {
          if (tally.pending === 0) continue;
          const value = tally.pending;
          tally.pending = 0;
          this.inc(tally.labels, value);
        }
      },
    });
  }

  tally(labels: Partial<Record<T, string>> = {}): Tally {
    const key = JSON.stringify(labels);
    let entry = this.#tallies.find((each) => each.key === key);
    if (entry === undefined) {
      entry = { key, labels, pending: 0 };
      this.#tallies.push(entry);
    }
    const found = entry;
    return {
      inc: (value = 1) => {
        found.pending += value;
      },
    };
  }
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly recordsIn: Counter<'frontend'>;
  readonly recordsOut: Counter<'frontend'>;
  readonly bytesIn: Counter<'frontend'>;
  readonly bytesOut: Counter<'frontend'>;
  readonly connections: Gauge<'frontend'>;
  /** Time from a produce request's arrival to its durable acknowledgement. */
  readonly appendLatency: BucketHistogram<'frontend'>;
  /** Records between a group's committed offset and the partition's high watermark. */
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  readonly errors: Counter<'frontend' | 'code'>;
  /** Broker-wide (all front ends and the sync layer together). */
  readonly brokerRecordsProduced: Counter<'topic'>;
  readonly brokerBytesProduced: Counter;
  readonly brokerRecordsDelivered: Counter;
  readonly brokerBytesDelivered: Counter;
  readonly brokerAppendLatency: BucketHistogram;
  /** Failed authentications (audit, `server/auth/audit.ts`); `reason` is a short fixed word. */
  readonly authFailures: Counter<'protocol' | 'reason'>;
  /** Operations refused by the ACL rules (audit). */
  readonly accessDenied: Counter<'protocol' | 'resource' | 'operation'>;
  /** Requests and deliveries that put or found their principal over a quota's rate (then throttled). */
  readonly quotaThrottled: Counter<'kind'>;
  /** Connections refused for their principal's `connections` quota. */
  readonly quotaConnectionsRefused: Counter;
  /** What happened to MQTT last wills (docs/mqtt.md, "Last will"). */
  readonly mqttWills: Counter<'outcome'>;
  /** Strong collection writes this gateway sent to, or ran for, another gateway (`sync/partition-leader.ts`). */
  readonly collectionWritesRouted: Counter<'direction'>;
  /** Collection appends refused because another writer of the partition appended first (docs/scale-out.md). */
  readonly collectionAppendConflicts: Counter;
  /** MQTT retained messages held (docs/mqtt.md, "Retained messages"). */
  readonly mqttRetainedMessages: Gauge;
  /** Stream-processing pipelines, refreshed on every scrape (server/pipeline-metrics.ts). */
  readonly pipelines: PipelineMetrics;
  readonly #recordsIn: TalliedCounter<'frontend'>;
  readonly #recordsOut: TalliedCounter<'frontend'>;
  readonly #appendTallies = new Map<FrontendLabel, AppendTally>();
  readonly #brokerRecordsProduced: TalliedCounter<'topic'>;
  readonly #brokerBytesProduced: TalliedCounter<never>;
  readonly #bytesIn: TalliedCounter<'frontend'>;
  readonly #bytesOut: TalliedCounter<'frontend'>;
  readonly #brokerRecordsDelivered: TalliedCounter<never>;
  readonly #brokerBytesDelivered: TalliedCounter<never>;

  constructor({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.#recordsIn = new TalliedCounter({
      name: 'tributary_records_in_total',
      help: 'Records acknowledged to producers',
      labelNames: ['frontend'],
      registers,
    });
    this.recordsIn = this.#recordsIn.counter;
    this.#recordsOut = new TalliedCounter({
      name: 'tributary_records_out_total',
      help: 'Records delivered to consumers and subscribers',
      labelNames: ['frontend'],
      registers,
    });
    this.recordsOut = this.#recordsOut.counter;
    this.#bytesIn = new TalliedCounter({
      name: 'tributary_in_bytes_total',
      help: 'Payload bytes received',
      labelNames: ['frontend'],
      registers,
    });
    this.bytesIn = this.#bytesIn.counter;
    this.#bytesOut = new TalliedCounter({
      name: 'tributary_out_bytes_total',
      help: 'Payload bytes sent',
      labelNames: ['frontend'],
      registers,
    });
    this.bytesOut = this.#bytesOut.counter;
    this.connections = new Gauge({
      name: 'tributary_connections',
      help: 'Open client connections',
      labelNames: ['frontend'],
      registers,
    });
    this.appendLatency = new BucketHistogram({
      name: 'tributary_append_latency_seconds',
      help: 'Produce request to durable acknowledgement',
      labelNames: ['frontend'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'tributary_consumer_lag_records',
      help: 'High watermark minus committed offset, per consumer group and partition',
      labelNames: ['group', 'topic', 'partition'],
      registers,
    });
    this.errors = new Counter({
      name: 'tributary_errors_total',
      help: 'Errors answered to clients, by error code',
      labelNames: ['frontend', 'code'],
      registers,
    });
    this.#brokerRecordsProduced = new TalliedCounter({
      name: 'tributary_broker_records_produced_total',
      help: 'Records made durable by the broker, all front ends together',
      labelNames: ['topic'],
      registers,
    });
    this.brokerRecordsProduced = this.#brokerRecordsProduced.counter;
    this.#brokerBytesProduced = new TalliedCounter({
      name: 'tributary_broker_produced_bytes_total',
      help: 'Key and value bytes made durable by the broker',
      registers,
    });
    this.brokerBytesProduced = this.#brokerBytesProduced.counter;
    this.#brokerRecordsDelivered = new TalliedCounter({
      name: 'tributary_broker_records_delivered_total',
      help: 'Records handed to subscribers by the broker',
      registers,
    });
    this.brokerRecordsDelivered = this.#brokerRecordsDelivered.counter;
    this.#brokerBytesDelivered = new TalliedCounter({
      name: 'tributary_broker_delivered_bytes_total',
      help: 'Key and value bytes handed to subscribers by the broker',
      registers,
    });
    this.brokerBytesDelivered = this.#brokerBytesDelivered.counter;
    this.brokerAppendLatency = new BucketHistogram({
      name: 'tributary_broker_append_latency_seconds',
      help: 'Broker produce/append call to durable acknowledgement',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.authFailures = new Counter({
      name: 'tributary_auth_failures_total',
      help: 'Failed authentications, by protocol and reason',
      labelNames: ['protocol', 'reason'],
      registers,
    });
    this.accessDenied = new Counter({
      name: 'tributary_access_denied_total',
      help: 'Operations refused by the ACL rules, by protocol, resource type and operation',
      labelNames: ['protocol', 'resource', 'operation'],
      registers,
    });
    this.quotaThrottled = new Counter({
      name: 'tributary_quota_throttled_total',
      help: 'Requests and deliveries throttled by a principal quota, by kind (produce, fetch)',
      labelNames: ['kind'],
      registers,
    });
    this.quotaConnectionsRefused = new Counter({
      name: 'tributary_quota_connections_refused_total',
      help: "Connections refused for their principal's connections quota",
      registers,
    });
    this.collectionWritesRouted = new Counter({
      name: 'tributary_collection_writes_routed_total',
      help: 'Strong collection writes forwarded to the gateway leading their partition (direction="forwarded"), or run here for another gateway (direction="led")',
      labelNames: ['direction'],
      registers,
    });
    this.collectionAppendConflicts = new Counter({
      name: 'tributary_collection_append_conflicts_total',
      help: 'Collection appends another writer of the partition beat (expectedLastOffset refused): the batch is planned again after a catch-up',
      registers,
    });
    this.mqttWills = new Counter({
      name: 'tributary_mqtt_wills_total',
      help: 'MQTT last wills by outcome: published, delayed, cancelled, discarded, failed',
      labelNames: ['outcome'],
      registers,
    });
    this.mqttRetainedMessages = new Gauge({
      name: 'tributary_mqtt_retained_messages',
      help: 'MQTT retained messages held',
      registers,
    });
    this.pipelines = new PipelineMetrics(this.registry);
    if (defaultMetrics) collectProcessMetrics(this.registry);
  }

  /**
   * `recordsIn` and `appendLatency` of one front end, for a per-append path: the records are
   * counted when collected, the latency goes to its label set's buckets without a lookup.
   */
  appendTally(frontend: FrontendLabel): AppendTally {
    let tally = this.#appendTallies.get(frontend);
    if (tally === undefined) {
      tally = {
        records: this.#recordsIn.tally({ frontend }),
        latency: this.appendLatency.child({ frontend }),
      };
      this.#appendTallies.set(frontend, tally);
    }
    return tally;
  }

  /** `brokerRecordsProduced` of one topic, counted when collected. */
  producedTally(topic: string): Tally {
    return this.#brokerRecordsProduced.tally({ topic });
  }

  /** `brokerBytesProduced`, counted when collected. */
  producedBytesTally(): Tally {
    return this.#brokerBytesProduced.tally();
  }

  /** `recordsOut` of one front end, for a per-delivery path: counted when collected. */
  recordsOutTally(frontend: FrontendLabel): Tally {
    return this.#recordsOut.tally({ frontend });
  }

  /** `bytesIn` of one front end, for a per-frame path: counted when collected. */
  bytesInTally(frontend: FrontendLabel): Tally {
    return this.#bytesIn.tally({ frontend });
  }

  /** `bytesOut` of one front end, for a per-frame path: counted when collected. */
  bytesOutTally(frontend: FrontendLabel): Tally {
    return this.#bytesOut.tally({ frontend });
  }

  /** `brokerRecordsDelivered` and `brokerBytesDelivered`, counted when collected. */
  deliveredTallies(): { readonly records: Tally; readonly bytes: Tally } {
    return { records: this.#brokerRecordsDelivered.tally(), bytes: this.#brokerBytesDelivered.tally() };
  }
}

/**
 * prom-client's process and Node.js metrics under the `tributary_` prefix (its names already
 * start with `process_` or `nodejs_`: `tributary_process_cpu_seconds_total`). Its gauges named
 * `…_total` (`nodejs_active_handles_total`, the sum of `nodejs_active_handles` over its `type`
 * label) are left out: in Prometheus `_total` marks a counter, and `sum()` gives the same number.
 *
 * The event-loop delay histogram (`nodejs_eventloop_lag_p99_seconds`, …) samples the loop every
 * {@link EVENT_LOOP_SAMPLE_MS}, not prom-client's 10 ms: each sample is a timer that wakes the
 * process, and 100 wake-ups a second were about 12 ms of CPU a second on an idle server, a
 * share of every lightly loaded one's CPU (at 20 appends a second, 0.6 ms per append).
 */
function collectProcessMetrics(registry: Registry): void {
  collectPromClientProcessMetrics(registry, {
    prefix: METRIC_PREFIX,
    eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
  });
  for (const metric of registry.getMetricsAsArray()) {
    if (metric instanceof Gauge && metric.name.endsWith('_total')) registry.removeSingleMetric(metric.name);
  }
  eventLoopDelayNetOfSamplePeriod(registry, EVENT_LOOP_SAMPLE_MS);
}

/**
 * The histogram gauges of the event-loop delay (`…_eventloop_lag_{min,max,mean,p50,p90,p99}_seconds`)
 * as delays: Node's `monitorEventLoopDelay` records the whole time between two of its timer's
 * runs, so every sample is the sampling period plus the delay, and an idle server reported a
 * p50 of 0.1 s at the 100 ms period. The period is taken off each value the library sets (not
 * below 0); the standard deviation does not change, `…_eventloop_lag_seconds` (one `setImmediate`
 * at the scrape) never held it.
 */
export function eventLoopDelayNetOfSamplePeriod(registry: Registry, periodMs: number): void {
  const periodSeconds = periodMs / 1000;
  for (const statistic of ['min', 'max', 'mean', 'p50', 'p90', 'p99']) {
    const gauge = registry.getSingleMetric(`${METRIC_PREFIX}nodejs_eventloop_lag_${statistic}_seconds`);
    if (!(gauge instanceof Gauge)) continue;
    const set = gauge.set.bind(gauge) as (labels: LabelValues<string>, value: number) => void;
    gauge.set = ((labels: LabelValues<string> | number, value?: number): void => {
      if (typeof labels === 'number') set({}, Math.max(0, labels - periodSeconds));
      else set(labels, Math.max(0, (value ?? 0) - periodSeconds));
    }) as typeof gauge.set;
  }
}

const METRIC_PREFIX = 'tributary_';
/** Period of the event-loop delay samples (see `collectProcessMetrics`). */
const EVENT_LOOP_SAMPLE_MS = 100;
