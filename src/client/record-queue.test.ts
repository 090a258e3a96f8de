import { describe, expect, it } from 'vitest';
import { RecordQueue } from './record-queue.js';
import { type ConsumerRecord, forEachPartitionRun } from './records.js';

const record = (offset: number, partition = 0, topic = 't'): ConsumerRecord => ({
  topic,
  partition,
  offset,
  timestamp: 0,
  key: null,
  value: null,
  headers: [],
});

describe('RecordQueue', () => {
  it('hands records to an iterator in order, counting each as consumed when it is yielded', async () => {
    const consumed: number[] = [];
    const queue = new RecordQueue(
      (records) => consumed.push(...records.map((r) => r.offset)),
      () => undefined,
    );
    const waiting = queue.next();
    queue.push([record(0), record(1)]);
    expect((await waiting).value?.offset).toBe(0);
    expect(consumed).toEqual([0]);
    expect((await queue.next()).value?.offset).toBe(1);
    expect(consumed).toEqual([0, 1]);
  });

  it('ends with an error after the buffered records', async () => {
    const queue = new RecordQueue(
      () => undefined,
      () => undefined,
    );
    queue.push([record(0)]);
    queue.fail(new Error('boom'));
    expect((await queue.next()).value?.offset).toBe(0);
    await expect(queue.next()).rejects.toThrow('boom');
    expect((await queue.next()).done).toBe(true);
  });

  it('feeds a listener in batches and counts them consumed once it settles', async () => {
    const consumed: number[] = [];
    const queue = new RecordQueue(
      (records) => consumed.push(...records.map((r) => r.offset)),
      () => undefined,
    );
    const seen: number[][] = [];
    let release: () => void = () => undefined;
    queue.setListener(
      (records) =>
        new Promise<void>((resolve) => {
          seen.push(records.map((r) => r.offset));
          release = resolve;
        }),
    );
    queue.push([record(0), record(1)]);
    queue.push([record(2)]);
    await Promise.resolve();
    expect(seen).toEqual([[0, 1]]);
    expect(consumed).toEqual([]);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual([[0, 1], [2]]);
    expect(consumed).toEqual([0, 1]);
  });

  it('counts a plain listener consumed as it returns, and a throw does not stop later batches', () => {
    const consumed: number[] = [];
    const errors: unknown[] = [];
    const queue = new RecordQueue(
      (records) => consumed.push(...records.map((r) => r.offset)),
      (error) => errors.push(error),
    );
    const seen: number[][] = [];
    queue.setListener((records) => {
      seen.push(records.map((r) => r.offset));
      if (records[0]!.offset === 0) throw new Error('boom');
    });
    queue.push([record(0)]);
    queue.push([record(1), record(2)]);
    expect(seen).toEqual([[0], [1, 2]]);
    expect(consumed).toEqual([0, 1, 2]);
    expect(errors).toHaveLength(1);
  });

  it('reports a rejected listener promise and goes on with the next batch', async () => {
    const consumed: number[] = [];
    const errors: unknown[] = [];
    const queue = new RecordQueue(
      (records) => consumed.push(...records.map((r) => r.offset)),
      (error) => errors.push(error),
    );
    const seen: number[] = [];
    queue.setListener(async (records) => {
      seen.push(records[0]!.offset);
      if (records[0]!.offset === 0) throw new Error('boom');
    });
    queue.push([record(0)]);
    queue.push([record(1)]);
    expect(seen).toEqual([0]);
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual([0, 1]);
    expect(consumed).toEqual([0, 1]);
    expect(errors).toHaveLength(1);
  });

  it('drops the records of revoked partitions', async () => {
    const queue = new RecordQueue(
      () => undefined,
      () => undefined,
    );
    queue.push([record(0, 0), record(0, 1), record(1, 0)]);
    expect(queue.drop((r) => r.partition === 0).map((r) => r.offset)).toEqual([0, 1]);
    expect(queue.size).toBe(1);
    expect((await queue.next()).value?.partition).toBe(1);
  });
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
    expect(runs([record(5), record(6), record(7)])).toEqual(['t/0@7×3']);
    expect(runs([])).toEqual([]);
  });

  it('starts a new run whenever the topic or the partition changes', () => {
    expect(runs([record(1, 0), record(1, 1), record(2, 1), record(9, 1, 'u'), record(2, 0)])).toEqual([
      't/0@1×1',
      't/1@2×2',
      'u/1@9×1',
      't/0@2×1',
    ]);
  });
});
