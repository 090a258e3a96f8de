/**
 * @module server/bucket-histogram
 * A Prometheus histogram for per-append paths, registered in a prom-client `Registry` and
 * exported in the same text as prom-client's `Histogram` (`_bucket{le=…}`, `_sum`, `_count`).
 *
 * prom-client's `observe(labels, value)` builds a closure and two objects, validates the labels
 * and hashes them on every call; on the append path of a lightly loaded server that was about 4 %
 * of its CPU per append. Here a label set's counts live in one small array, found once
 * ({@link BucketHistogram.child}), and an observation is a bucket search and three additions.
 *
 * @example
 * const latency = new BucketHistogram({ name: 'x_seconds', help: '…', labelNames: ['frontend'], buckets: [0.001, 0.01], registers: [registry] });
 * const ws = latency.child({ frontend: 'ws' });
 * ws.observe(0.0004);
 */
import type { Registry } from 'prom-client';

/** One exported line: `metricName{labels} value`. */
export interface HistogramValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName: string;
}

/** What `get()` gives a `Registry` (the shape of prom-client's own metrics). */
export interface HistogramExport {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly values: HistogramValue[];
  readonly aggregator: 'sum';
}

/** Observations of one label set. */
export interface HistogramChild {
  observe(value: number): void;
}

export interface BucketHistogramConfig<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly T[];
  /** Upper bounds, ascending; `+Inf` is implied. */
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
}

type Labels<T extends string> = Partial<Record<T, string>>;

class Series implements HistogramChild {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket, not cumulative; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(labels: Readonly<Record<string, string>>, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`histogram value is not a finite number: ${value}`);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

export class BucketHistogram<T extends string = never> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #labelNames: readonly T[];
  readonly #bounds: readonly number[];
  #series = new Map<string, Series>();

  constructor(config: BucketHistogramConfig<T>) {
    this.name = config.name;
    this.help = config.help;
    this.#labelNames = config.labelNames ?? [];
    this.#bounds = [...config.buckets];
    for (const registry of config.registers) registry.registerMetric(this as never);
  }

  /** The series of one label set (every label of `labelNames`, no other), made once. */
  child(labels: Labels<T> = {}): HistogramChild {
    const own: Record<string, string> = {};
    for (const name of this.#labelNames) {
      const value = labels[name];
      if (typeof value !== 'string') throw this.#labelsError();
      own[name] = value;
    }
    if (Object.keys(labels).length !== this.#labelNames.length) throw this.#labelsError();
    const key = JSON.stringify(this.#labelNames.map((name) => own[name]));
    let series = this.#series.get(key);
    if (series === undefined) {
      series = new Series(own, this.#bounds);
      this.#series.set(key, series);
    }
    return series;
  }

  #labelsError(): Error {
    return new Error(`${this.name}: labels must be exactly ${JSON.stringify(this.#labelNames)}, as strings`);
  }

  /** `observe(labels, value)`, or `observe(value)` without labels, as prom-client's. */
  observe(labels: Labels<T> | number, value?: number): void {
    if (typeof labels === 'number') this.child().observe(labels);
    else this.child(labels).observe(value ?? Number.NaN);
  }

  reset(): void {
    this.#series = new Map();
  }

  /** What a `Registry` exports: the cumulative buckets, `+Inf`, the sum and the count of each series. */
  async get(): Promise<HistogramExport> {
    const values: HistogramValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const series of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push({
          labels: { le: this.#bounds[i]!, ...series.labels },
          value: cumulative,
          metricName: bucket,
        });
      }
      values.push(
        { labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: bucket },
        { labels: { ...series.labels }, value: series.sum, metricName: `${this.name}_sum` },
        { labels: { ...series.labels }, value: series.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
