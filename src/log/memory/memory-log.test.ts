import { describe, expect, it } from 'vitest';
import { describeLogContract } from '../log.contract.js';
import { createMemoryLog } from './memory-log.js';

describeLogContract('memory', async () => ({ log: createMemoryLog() }));

describe('memory engine specifics', () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

  it('never compacts the active segment', async () => {
    const log = createMemoryLog();
    await log.createTopic('c', { compact: true, segmentBytes: 4096 });
    for (let i = 0; i < 5; i++) await log.append('c', 0, [{ key: enc('k'), value: enc(`${i}`) }]);
    const report = await log.compact('c');
    expect(report.recordsAfter).toBe(5);
    expect(await log.read('c', 0, 0)).toHaveLength(5);
  });

  it('never deletes the active segment, even past retentionBytes', async () => {
    const log = createMemoryLog();
    await log.createTopic('t', { retentionBytes: 1, segmentBytes: 4096 });
    for (let i = 0; i < 3; i++) await log.append('t', 0, [{ key: null, value: new Uint8Array(3000) }]);
    await log.enforceRetention('t');
    expect(await log.offsets('t', 0)).toEqual({ earliest: 2, next: 3, lastStable: 3 });
    expect((await log.describeTopic('t')).partitions[0]?.sizeBytes).toBeGreaterThan(1);
  });

  it('gives a retried batch the append time of its first attempt', async () => {
    const log = createMemoryLog();
    await log.createTopic('t');
    const producer = { producerId: 1, producerEpoch: 0, baseSequence: 0 };
    const first = await log.append('t', 0, [{ key: null, value: null }], { producer });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const retry = await log.append('t', 0, [{ key: null, value: null }], { producer });
    expect(retry).toEqual({ ...first, duplicate: true });
  });
});
