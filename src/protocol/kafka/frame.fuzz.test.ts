import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import { KafkaFrameDecoder, writeFrameSize } from './frame.js';

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out.set(payload, 4);
  writeFrameSize(out);
  return out;
}

/** Cuts `stream` at the given fractions (any order, duplicates allowed). */
function split(stream: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * stream.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    chunks.push(stream.subarray(last, p));
    last = p;
  }
  chunks.push(stream.subarray(last));
  return chunks;
}

describe('KafkaFrameDecoder (fuzz)', () => {
  it('yields the same frames however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        (payloads, cuts) => {
          const frames = payloads.map(frame);
          const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
          let q = 0;
          for (const f of frames) {
            stream.set(f, q);
            q += f.length;
          }
          const decoder = new KafkaFrameDecoder();
          const out = split(stream, cuts).flatMap((c) => decoder.push(c));
          expect(out.map((p) => Array.from(p))).toEqual(payloads.map((p) => Array.from(p)));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('turns random bytes into frames or a TributaryError, never anything else', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 200 }),
        (chunks, max) => {
          const decoder = new KafkaFrameDecoder({ maxFrameBytes: max });
          let total = 0;
          try {
            for (const c of chunks) {
              for (const p of decoder.push(c)) {
                expect(p.length).toBeLessThanOrEqual(max);
                total += p.length + 4;
              }
            }
          } catch (err) {
            expect(err).toBeInstanceOf(TributaryError);
          }
          expect(total).toBeLessThanOrEqual(chunks.reduce((n, c) => n + c.length, 0));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
