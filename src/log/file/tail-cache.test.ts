import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TailCache } from './tail-cache.js';

const bytes = (...values: number[]) => new Uint8Array(values);

describe('TailCache', () => {
  it('serves ranges inside one buffer and across buffers, as copies', () => {
    const cache = new TailCache(1024, 100);
    const a = bytes(1, 2, 3);
    cache.append([a, bytes(4, 5)], 100);
    const inside = cache.read(100, 103)!;
    expect([...inside]).toEqual([1, 2, 3]);
    inside[0] = 99; // a reader changing its copy changes nothing for the next one
    expect([...cache.read(100, 103)!]).toEqual([1, 2, 3]);
    expect([...cache.read(101, 105)!]).toEqual([2, 3, 4, 5]);
  });

  it('misses for ranges not fully cached', () => {
    const cache = new TailCache(1024, 100);
    cache.append([bytes(1, 2)], 100);
    expect(cache.read(99, 101)).toBeUndefined();
    expect(cache.read(100, 103)).toBeUndefined();
    expect(cache.read(101, 101)).toBeUndefined();
  });

  it('evicts whole buffers beyond its capacity, keeping the newest', () => {
    const cache = new TailCache(4, 0);
    cache.append([bytes(1, 2, 3)], 0);
    cache.append([bytes(4, 5, 6)], 3);
    cache.append([bytes(7, 8, 9)], 6);
    expect(cache.read(0, 3)).toBeUndefined();
    expect([...cache.read(6, 9)!]).toEqual([7, 8, 9]);
  });

  it('starts over when a write does not continue where the cache ends', () => {
    const cache = new TailCache(1024, 0);
    cache.append([bytes(1, 2)], 0);
    cache.append([bytes(9)], 10);
    expect(cache.read(0, 2)).toBeUndefined();
    expect([...cache.read(10, 11)!]).toEqual([9]);
  });

  it('always returns exactly the bytes written at those positions (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 200 }),
        fc.nat(),
        fc.nat(),
        (writes, capacity, from, length) => {
          const cache = new TailCache(capacity, 0);
          const file: number[] = [];
          for (const w of writes) {
            cache.append([w], file.length);
            file.push(...w);
          }
          const start = from % file.length;
          const end = Math.min(file.length, start + 1 + (length % file.length));
          const got = cache.read(start, end);
          if (got !== undefined) expect([...got]).toEqual(file.slice(start, end));
          // The newest write is always cached.
          const last = writes[writes.length - 1]!;
          expect([...cache.read(file.length - last.length, file.length)!]).toEqual([...last]);
        },
      ),
    );
  });
});
