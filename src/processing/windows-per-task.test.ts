import { describe, expect, it } from 'vitest';
import type { ConsumerRecord } from '../client/records.js';
import { pipeline, topic } from './pipeline.js';
import { Task } from './task.js';
import { tumbling } from './windows.js';

const ENCODER = new TextEncoder();

function record(partition: number, offset: number, at: number): ConsumerRecord {
  return {
    topic: 'in',
    partition,
    offset,
    timestamp: at,
    key: ENCODER.encode('k'),
    value: ENCODER.encode(JSON.stringify({ at })),
    headers: [],
  };
}

describe('fixed windows', () => {
  it('close per task: one task closing its windows leaves the other task of the process its own', () => {
    const definition = pipeline('per-task')
      .from(topic<{ at: number }>('in', { eventTime: (v) => v.at }))
      .keyBy(() => 'k')
      .window(tumbling('1m'))
      .count()
      .to(topic('out'));
    const a = new Task(definition, 0);
    const b = new Task(definition, 1);
    a.restored(undefined);
    b.restored(undefined);
    expect(a.process([record(0, 0, 10_000)])).toEqual([]);
    expect(b.process([record(1, 0, 20_000)])).toEqual([]);
    // Task a closes its first window; task b's is still open and must close on its own event.
    expect(a.process([record(0, 1, 70_000)]).map((i) => i.key)).toEqual(['k@0']);
    expect(b.process([record(1, 1, 80_000)]).map((i) => i.key)).toEqual(['k@0']);
  });
});
