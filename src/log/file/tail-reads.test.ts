/**
 * Reads served from the active segment's tail cache (tail-cache.ts) through `Segment.readChunk`:
 * a reader far behind the writer gets exactly the records it asked for, one at a time or many,
 * and a batch larger than one read's window comes back whole.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openFileLog } from './file-log.js';
import { READ_CHUNK_BYTES_MIN } from './segment.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function openLog() {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-tail-reads-'));
  dirs.push(dir);
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  await log.createTopic('t', { fsync: 'never' });
  return log;
}

describe('reads from the tail cache', () => {
  it('answers one-record reads far behind the writer with exactly that record', async () => {
    const log = await openLog();
    try {
      const count = 3000; // ~300 KiB of small batches: all in the tail cache, many read windows
      for (let i = 0; i < count; i++) {
        await log.append('t', 0, [{ key: null, value: enc.encode(`value-${i}-${'x'.repeat(60)}`) }]);
      }
      for (const offset of [0, 1, 777, 1500, count - 2, count - 1]) {
        const [record, ...rest] = await log.read('t', 0, offset, { maxRecords: 1 });
        expect(rest).toEqual([]);
        expect(record?.offset).toBe(offset);
        expect(dec.decode(record?.value ?? new Uint8Array())).toBe(`value-${offset}-${'x'.repeat(60)}`);
      }
      const all = await log.read('t', 0, 0, { maxRecords: count, maxBytes: 16 * 1024 * 1024 });
      expect(all.map((r) => r.offset)).toEqual(Array.from({ length: count }, (_, i) => i));
    } finally {
      await log.close();
    }
  });

  it('returns a batch larger than one read window whole', async () => {
    const log = await openLog();
    try {
      await log.append('t', 0, [{ key: null, value: enc.encode('small') }]);
      const big = new Uint8Array(READ_CHUNK_BYTES_MIN * 3).fill(7);
      await log.append('t', 0, [{ key: null, value: big }]);
      await log.append('t', 0, [{ key: null, value: enc.encode('after') }]);
      const [record] = await log.read('t', 0, 1, { maxRecords: 1, maxBytes: 1024 });
      expect(record?.offset).toBe(1);
      expect(record?.value?.byteLength).toBe(big.byteLength);
      expect(record?.value?.every((b) => b === 7)).toBe(true);
      const rest = await log.read('t', 0, 0, { maxRecords: 10, maxBytes: 16 * 1024 * 1024 });
      expect(rest.map((r) => dec.decode(r.value!.subarray(0, 5)))).toEqual([
        'small',
        '\x07\x07\x07\x07\x07',
        'after',
      ]);
    } finally {
      await log.close();
    }
  });
});
