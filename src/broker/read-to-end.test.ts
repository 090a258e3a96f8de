import { describe, expect, it } from 'vitest';
import { createMemoryLog } from '../log/memory/memory-log.js';
import { readToEnd } from './read-to-end.js';

const enc = new TextEncoder();
const record = (i: number) => ({ key: enc.encode(`k${i % 7}`), value: enc.encode(String(i)) });

describe('readToEnd', () => {
  it('reads every record up to the end there was at the start, in batches, and returns that end', async () => {
    const log = createMemoryLog();
    await log.createTopic('t');
    await log.append(
      't',
      0,
      Array.from({ length: 2500 }, (_, i) => record(i)),
    );
    const batches: number[] = [];
    const seen: number[] = [];
    const end = await readToEnd(log, 't', 0, (records) => {
      batches.push(records.length);
      for (const r of records) seen.push(r.offset);
      // Appends while reading belong to the tail, not to this read.
      if (batches.length === 1) void log.append('t', 0, [record(-1)]);
    });
    expect(end).toBe(2500);
    expect(seen).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    expect(batches).toEqual([1000, 1000, 500]);
    await log.close();
  });

  it('reads an empty partition as nothing', async () => {
    const log = createMemoryLog();
    await log.createTopic('t');
    const calls: unknown[] = [];
    expect(await readToEnd(log, 't', 0, (records) => calls.push(records))).toBe(0);
    expect(calls).toEqual([]);
    await log.close();
  });

  it('passes read errors on (a missing topic)', async () => {
    const log = createMemoryLog();
    await expect(readToEnd(log, 'missing', 0, () => undefined)).rejects.toMatchObject({
      code: 'TOPIC_NOT_FOUND',
    });
    await log.close();
  });
});
