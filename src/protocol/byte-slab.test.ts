import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyOut, SLAB_COPY_MAX_BYTES } from './byte-slab.js';

describe('copyOut', () => {
  it('copies exactly the first `length` bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3 * SLAB_COPY_MAX_BYTES }), fc.nat(), (source, cut) => {
        const length = source.length === 0 ? 0 : cut % (source.length + 1);
        const out = copyOut(source, length);
        expect(out.byteLength).toBe(length);
        expect([...out]).toEqual([...source.subarray(0, length)]);
      }),
    );
  });

  it('gives every copy bytes of its own, also when slabs run out and new ones start', () => {
    const copies: { out: Uint8Array; fill: number }[] = [];
    for (let i = 0; i < 2_000; i++) {
      const fill = i % 251;
      const size = 1 + ((i * 37) % 700);
      copies.push({ out: copyOut(new Uint8Array(size).fill(fill), size), fill });
    }
    // Writing into one copy must not show through another.
    for (const { out } of copies.filter((_, i) => i % 2 === 1)) out.fill(255);
    for (const [i, { out, fill }] of copies.entries()) {
      if (i % 2 === 0) expect(out.every((byte) => byte === fill)).toBe(true);
    }
  });

  it('shares one buffer between small copies and gives large ones their own', () => {
    const a = copyOut(new Uint8Array(100), 100);
    const b = copyOut(new Uint8Array(100), 100);
    expect(a.buffer).toBe(b.buffer);
    expect(a.byteOffset % 8).toBe(0);
    expect(b.byteOffset % 8).toBe(0);
    const large = copyOut(new Uint8Array(SLAB_COPY_MAX_BYTES + 1), SLAB_COPY_MAX_BYTES + 1);
    expect(large.byteOffset).toBe(0);
    expect(large.buffer.byteLength).toBe(SLAB_COPY_MAX_BYTES + 1);
  });
});
