/**
 * @module server/pipeline-metrics
 * The stream-processing pipelines in `/metrics`, read at every scrape from what they write to
 * this server (processing/overview: their consumer group, their tasks' progress records, their
 * control record), so a pipeline shows up as soon as its first worker joins and needs no agent:
 *
 * | metric | labels | value |
 * |---|---|---|
 * | `tributary_pipeline_lag_records` | pipeline, partition | source records not yet processed (end − committed) |
 * | `tributary_pipeline_watermark_seconds` | pipeline, partition | the task's watermark (event time, s since the epoch) |
 * | `tributary_pipeline_processed_records` | pipeline, partition | records the task processed (committed); `rate()` of it is the throughput |
 * | `tributary_pipeline_late_records` | pipeline, partition | late events dropped |
 * | `tributary_pipeline_workers` | pipeline | worker processes in the group |
 * | `tributary_pipeline_stopped` | pipeline | 1 while stopped by its control record |
 */

import type { TributaryBroker } from '../broker/broker.js';
import { isTributaryError } from '../errors.js';
import type { PipelineReader } from '../processing/overview.js';
import { Gauge, type Registry } from '../prometheus.js';

const DECODER = new TextDecoder();
/** The last offsets of a progress or control partition hold its newest record. */
const TAIL_RECORDS = 16;

type PartitionLabels = 'pipeline' | 'partition';

export class PipelineMetrics {
  readonly #lag: Gauge<PartitionLabels>;
  readonly #watermark: Gauge<PartitionLabels>;
  readonly #processed: Gauge<PartitionLabels>;
  readonly #late: Gauge<PartitionLabels>;
  readonly #workers: Gauge<'pipeline'>;
  readonly #stopped: Gauge<'pipeline'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['pipeline', 'partition'] as const;
    this.#lag = new Gauge({
      name: 'tributary_pipeline_lag_records',
      help: 'Source records a pipeline has not processed yet, per source partition',
      labelNames,
      registers,
    });
    this.#watermark = new Gauge({
      name: 'tributary_pipeline_watermark_seconds',
      help: "A pipeline task's watermark (event time up to which its windows closed), per source partition",
      labelNames,
      registers,
    });
    this.#processed = new Gauge({
      name: 'tributary_pipeline_processed_records',
      help: 'Records a pipeline task processed and committed, per source partition (rate() is the throughput)',
      labelNames,
      registers,
    });
    this.#late = new Gauge({
      name: 'tributary_pipeline_late_records',
      help: 'Late events a pipeline task dropped, per source partition',
      labelNames,
      registers,
    });
    this.#workers = new Gauge({
      name: 'tributary_pipeline_workers',
      help: "Worker processes in a pipeline's consumer group",
      labelNames: ['pipeline'],
      registers,
    });
    this.#stopped = new Gauge({
      name: 'tributary_pipeline_stopped',
      help: '1 while a pipeline is stopped by its control record, else 0',
      labelNames: ['pipeline'],
      registers,
    });
  }

  /** Refreshes every gauge (called before each scrape). */
  async update(reader: PipelineReader): Promise<void> {
    // The processing modules load with the first scrape, not with the server.
    const { describePipelines } = await import('../processing/overview.js');
    const pipelines = await describePipelines(reader);
    for (const gauge of [this.#lag, this.#watermark, this.#processed, this.#late]) gauge.reset();
    this.#workers.reset();
    this.#stopped.reset();
    for (const p of pipelines) {
      this.#workers.set({ pipeline: p.pipeline }, p.workers);
      this.#stopped.set({ pipeline: p.pipeline }, p.control === 'stopped' ? 1 : 0);
      for (const x of p.partitions) {
        const labels = { pipeline: p.pipeline, partition: String(x.partition) };
        if (x.lag !== null) this.#lag.set(labels, x.lag);
        if (x.watermark !== null) this.#watermark.set(labels, x.watermark / 1000);
        this.#processed.set(labels, x.processed);
        this.#late.set(labels, x.late);
      }
    }
  }
}

/** The overview's reads, straight from the broker. */
export function brokerPipelineReader(broker: TributaryBroker): PipelineReader {
  return {
    groups: () => broker.describeGroups(),
    lastValue: async (topic, partition, key) => {
      try {
        const { earliest, next } = await broker.offsets(topic, partition);
        let value: unknown;
        let offset = Math.max(earliest, next - TAIL_RECORDS);
        while (offset < next) {
          const records = await broker.fetch(topic, partition, offset, { isolation: 'committed' });
          if (records.length === 0) break;
          for (const r of records) {
            if (r.key !== null && DECODER.decode(r.key) === key) {
              value = r.value === null ? undefined : (JSON.parse(DECODER.decode(r.value)) as unknown);
            }
          }
          offset = records.at(-1)!.offset + 1;
        }
        return value;
      } catch (error) {
        if (isTributaryError(error, 'TOPIC_NOT_FOUND') || isTributaryError(error, 'PARTITION_NOT_FOUND')) {
          return undefined;
        }
        if (error instanceof SyntaxError) return undefined; // not a record a pipeline wrote
        throw error;
      }
    },
  };
}
