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
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { PipelineMetrics } from './pipeline-metrics.js';

/** From 100 µs (a group commit on a fast disk) to 1 s. */
const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

export type FrontendLabel = 'ws' | 'http' | 'sse' | 'kafka' | 'socketio' | 'mqtt';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly recordsIn: Counter<'frontend'>;
  readonly recordsOut: Counter<'frontend'>;
  readonly bytesIn: Counter<'frontend'>;
  readonly bytesOut: Counter<'frontend'>;
  readonly connections: Gauge<'frontend'>;
  /** Time from a produce request's arrival to its durable acknowledgement. */
  readonly appendLatency: Histogram<'frontend'>;
  /** Records between a group's committed offset and the partition's high watermark. */
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  readonly errors: Counter<'frontend' | 'code'>;
  /** Broker-wide (all front ends and the sync layer together). */
  readonly brokerRecordsProduced: Counter<'topic'>;
  readonly brokerBytesProduced: Counter;
  readonly brokerRecordsDelivered: Counter;
  readonly brokerBytesDelivered: Counter;
  readonly brokerAppendLatency: Histogram;
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
  /** MQTT retained messages held (docs/mqtt.md, "Retained messages"). */
  readonly mqttRetainedMessages: Gauge;
  /** Stream-processing pipelines, refreshed on every scrape (server/pipeline-metrics.ts). */
  readonly pipelines: PipelineMetrics;

  constructor({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.recordsIn = new Counter({
      name: 'tributary_records_in_total',
      help: 'Records acknowledged to producers',
      labelNames: ['frontend'],
      registers,
    });
    this.recordsOut = new Counter({
      name: 'tributary_records_out_total',
      help: 'Records delivered to consumers and subscribers',
      labelNames: ['frontend'],
      registers,
    });
    this.bytesIn = new Counter({
      name: 'tributary_in_bytes_total',
      help: 'Payload bytes received',
      labelNames: ['frontend'],
      registers,
    });
    this.bytesOut = new Counter({
      name: 'tributary_out_bytes_total',
      help: 'Payload bytes sent',
      labelNames: ['frontend'],
      registers,
    });
    this.connections = new Gauge({
      name: 'tributary_connections',
      help: 'Open client connections',
      labelNames: ['frontend'],
      registers,
    });
    this.appendLatency = new Histogram({
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
    this.brokerRecordsProduced = new Counter({
      name: 'tributary_broker_records_produced_total',
      help: 'Records made durable by the broker, all front ends together',
      labelNames: ['topic'],
      registers,
    });
    this.brokerBytesProduced = new Counter({
      name: 'tributary_broker_produced_bytes_total',
      help: 'Key and value bytes made durable by the broker',
      registers,
    });
    this.brokerRecordsDelivered = new Counter({
      name: 'tributary_broker_records_delivered_total',
      help: 'Records handed to subscribers by the broker',
      registers,
    });
    this.brokerBytesDelivered = new Counter({
      name: 'tributary_broker_delivered_bytes_total',
      help: 'Key and value bytes handed to subscribers by the broker',
      registers,
    });
    this.brokerAppendLatency = new Histogram({
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
}

/**
 * prom-client's process and Node.js metrics under the `tributary_` prefix (its names already
 * start with `process_` or `nodejs_`: `tributary_process_cpu_seconds_total`). Its gauges named
 * `…_total` (`nodejs_active_handles_total`, the sum of `nodejs_active_handles` over its `type`
 * label) are left out: in Prometheus `_total` marks a counter, and `sum()` gives the same number.
 */
function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  for (const metric of registry.getMetricsAsArray()) {
    if (metric instanceof Gauge && metric.name.endsWith('_total')) registry.removeSingleMetric(metric.name);
  }
}

const METRIC_PREFIX = 'tributary_';
