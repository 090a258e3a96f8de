import { describe, expect, it } from 'vitest';
import { type ConsumerRecord, forEachPartitionRun } from './records.js';

const record = (topic: string, partition: number, offset: number): ConsumerRecord => ({
  topic,
  partition,
  offset,
  timestamp: 0,
  key: null,
  value: null,
  headers: [],
});

describe('forEachPartitionRun', () => {
  const runs = (records: ConsumerRecord[]): string[] => {
    const out: string[] = [];
    forEachPartitionRun(records, (last, count) =>
      out.push(`${last.topic}/${last.partition}@${last.offset}×${count}`),
    );
    return out;
  };

  it('gives one run for a batch of one partition, none for an empty one', () => {
    expect(runs([record('t', 0, 5), record('t', 0, 6), record('t', 0, 7)])).toEqual(['t/0@7×3']);
    expect(runs([])).toEqual([]);
  });

  it('starts a new run whenever the topic or the partition changes', () => {
    expect(
      runs([record('t', 0, 1), record('t', 1, 1), record('t', 1, 2), record('u', 1, 9), record('t', 0, 2)]),
    ).toEqual(['t/0@1×1', 't/1@2×2', 'u/1@9×1', 't/0@2×1']);
  });
});
