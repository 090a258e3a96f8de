import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from '../prometheus.js';
import { BucketHistogram } from './bucket-histogram.js';

const BUCKETS = [0.0001, 0.001, 0.01, 0.1, 1];
const OBSERVED = [0.00005, 0.0001, 0.0004, 0.002, 0.002, 0.05, 0.7, 3];

describe('BucketHistogram', () => {
  it('exports the same text as prom-client’s Histogram for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new BucketHistogram({
      name: 'latency_seconds',
      help: 'Latency',
      labelNames: ['frontend'],
      buckets: BUCKETS,
      registers: [ours],
    });
    const reference = new Histogram({
      name: 'latency_seconds',
      help: 'Latency',
      labelNames: ['frontend'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const ws = fast.child({ frontend: 'ws' });
    for (const value of OBSERVED) {
      ws.observe(value);
      reference.observe({ frontend: 'ws' }, value);
    }
    fast.observe({ frontend: 'http' }, 0.003);
    reference.observe({ frontend: 'http' }, 0.003);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('latency_seconds_bucket{le="0.001",frontend="ws"} 3');
    expect(await ours.metrics()).toContain('latency_seconds_count{frontend="ws"} 8');
  });

  it('without labels, and after a reset', async () => {
    const registry = new Registry();
    const fast = new BucketHistogram({
      name: 'plain_seconds',
      help: 'Plain',
      buckets: BUCKETS,
      registers: [registry],
    });
    fast.observe(0.5);
    fast.child().observe(2);
    expect(await registry.metrics()).toContain('plain_seconds_bucket{le="1"} 1');
    expect(await registry.metrics()).toContain('plain_seconds_bucket{le="+Inf"} 2');
    expect(await registry.metrics()).toContain('plain_seconds_sum 2.5');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('plain_seconds_count');
  });

  it('refuses label sets that are not its labels, and values that are not numbers', () => {
    const fast = new BucketHistogram({
      name: 'checked_seconds',
      help: 'Checked',
      labelNames: ['frontend'],
      buckets: BUCKETS,
      registers: [],
    });
    expect(() => fast.child({})).toThrow(/labels must be exactly/);
    expect(() => fast.child({ frontend: 'ws', other: 'x' } as never)).toThrow(/labels must be exactly/);
    expect(() => fast.child({ frontend: 'ws' }).observe(Number.NaN)).toThrow(TypeError);
  });
});
