/**
 * The decompressors of produced batches on their own: known small inputs (raw and xerial-framed
 * snappy, LZ4 frames with compressed, uncompressed and linked blocks), the output limit
 * (decompression bombs stop at `maxBytes`), and random bytes, which may only ever fail with
 * `DecompressError`. Real clients' compressed batches are covered by the kcat tests.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecompressError, decompress } from '../src/compression/index.js';

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (data: Uint8Array) => Buffer.from(data).toString('latin1');

describe('snappy', () => {
  // "abcabcabcabc": literal "abc" then a 9-byte copy at offset 3 (tag 10: 2-byte offset).
  const raw = bytes(12, (3 - 1) << 2, 0x61, 0x62, 0x63, ((9 - 1) << 2) | 2, 3, 0);

  it('decodes a raw block with literals and overlapping copies', () => {
    expect(text(decompress(2, raw, 1 << 20))).toBe('abcabcabcabc');
    // Copy with a 1-byte offset (tag 01): length 4 + 0, offset 1 → "xxxxx".
    expect(text(decompress(2, bytes(5, 0, 0x78, 0b001, 1), 1 << 20))).toBe('xxxxx');
  });

  it('decodes the xerial framing of the Java client', () => {
    const header = bytes(0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1);
    const block = (b: Uint8Array) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const framed = Buffer.concat([header, block(raw), block(raw)]);
    expect(text(decompress(2, framed, 1 << 20))).toBe('abcabcabcabc'.repeat(2));
  });

  it('refuses a declared length past the limit before allocating, and bad copies', () => {
    const huge = bytes(0xff, 0xff, 0xff, 0xff, 0x0f); // 4 GiB declared
    expect(() => decompress(2, huge, 1 << 20)).toThrow(expect.objectContaining({ tooLarge: true }));
    expect(() => decompress(2, bytes(4, 0b001, 9), 1 << 20)).toThrow(DecompressError); // copy before any output
  });
});

describe('lz4 frames', () => {
  const frame = (...blocks: Uint8Array[]) =>
    Buffer.concat([
      Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]), // magic, FLG (v1, independent), BD, HC
      ...blocks.map((b) => Buffer.concat([Buffer.from(Uint32Array.of(b.length).buffer), b])),
      Buffer.from([0, 0, 0, 0]),
    ]);
  // Token: 1 literal, match 4 + 5 = 9 at offset 1 → "a" * 10, then a last literal-only sequence "b".
  const block = bytes(0x15, 0x61, 1, 0, 0x10, 0x62);

  it('decodes compressed and uncompressed blocks, and matches into earlier blocks', () => {
    expect(text(decompress(3, frame(block), 1 << 20))).toBe(`${'a'.repeat(10)}b`);
    const stored = Buffer.concat([Buffer.from(Uint32Array.of(0x80000003).buffer), Buffer.from('xyz')]);
    const withStored = Buffer.concat([frame(block).subarray(0, -4), stored, Buffer.from([0, 0, 0, 0])]);
    expect(text(decompress(3, withStored, 1 << 20))).toBe(`${'a'.repeat(10)}bxyz`);
    // A second block whose match reaches back into the first (linked blocks): offset 3 → "xyzxyz".
    const linked = bytes(0x02, 3, 0); // no literal, match 4 + 2 = 6 at offset 3
    const twoBlocks = Buffer.concat([frame(block).subarray(0, -4), stored, frame(linked).subarray(7)]);
    expect(text(decompress(3, twoBlocks, 1 << 20))).toBe(`${'a'.repeat(10)}bxyzxyzxyz`);
  });

  it('stops at the output limit', () => {
    // One sequence: match of 4 + 15 + 255 * 100 bytes at offset 1.
    const long = bytes(0x1f, 0x61, 1, 0, ...Array(100).fill(255), 0, 0x10, 0x62);
    expect(() => decompress(3, frame(long), 1000)).toThrow(expect.objectContaining({ tooLarge: true }));
    expect(decompress(3, frame(long), 1 << 20).length).toBe(1 + 4 + 15 + 25_500 + 1);
  });
});

describe('gzip and zstd', () => {
  it('gunzips, and stops a gzip bomb at the limit', () => {
    expect(text(decompress(1, gzipSync(Buffer.from('hello kafka')), 1 << 20))).toBe('hello kafka');
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    expect(() => decompress(1, bomb, 1 << 20)).toThrow(expect.objectContaining({ tooLarge: true }));
  });

  it('decodes a zstd frame (raw block)', () => {
    // Frame header: magic, FHD 0x20 (single segment, 1-byte content size), size 5; raw last block of 5.
    const frame = bytes(0x28, 0xb5, 0x2f, 0xfd, 0x20, 5, 0x29, 0, 0, ...Buffer.from('hello'));
    expect(text(decompress(4, frame, 1 << 20))).toBe('hello');
    expect(() => decompress(4, frame, 3)).toThrow(expect.objectContaining({ tooLarge: true }));
  });

  it('refuses a tiny frame that declares a huge window, before the decoder allocates it', () => {
    // Not single segment, window descriptors 0xa8 (2^31 bytes) and 0x98 (2^29): the decoder would
    // allocate that much for a 9-byte input.
    for (const wd of [0xa8, 0x98]) {
      const frame = bytes(0x28, 0xb5, 0x2f, 0xfd, 0x00, wd, 0x01, 0, 0);
      expect(() => decompress(4, frame, 64 * 1024 * 1024)).toThrow(
        expect.objectContaining({ tooLarge: true }),
      );
    }
    // Single segment with an 8-byte content size of 1 GiB.
    const declared = bytes(0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0x01, 0, 0);
    expect(() => decompress(4, declared, 64 * 1024 * 1024)).toThrow(
      expect.objectContaining({ tooLarge: true }),
    );
  });
});

describe('random input', () => {
  it('fails only with DecompressError, never anything else', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.uint8Array({ maxLength: 300 }), (codec, data) => {
        // Give lz4 and zstd inputs a valid magic half of the time, so the parsers get exercised.
        const input =
          codec === 3 && data.length > 0 && data[0]! % 2 === 0
            ? Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18]), data])
            : codec === 4 && data.length > 0 && data[0]! % 2 === 0
              ? Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), data])
              : data;
        try {
          decompress(codec, input, 64 * 1024);
        } catch (error) {
          expect(error).toBeInstanceOf(DecompressError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
