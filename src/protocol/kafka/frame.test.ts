import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import { DEFAULT_MAX_FRAME_BYTES, KafkaFrameDecoder, writeFrameSize } from './frame.js';

/** A frame: int32 size, then `payload`. */
function frame(payload: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out.set(payload, 4);
  writeFrameSize(out);
  return out;
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let q = 0;
  for (const p of parts) {
    out.set(p, q);
    q += p.length;
  }
  return out;
}

function pushAll(decoder: KafkaFrameDecoder, chunks: readonly Uint8Array[]): number[][] {
  return chunks.flatMap((c) => decoder.push(c)).map((p) => Array.from(p));
}

describe('KafkaFrameDecoder', () => {
  it('returns a frame that arrives whole as a view into the chunk', () => {
    const chunk = frame([1, 2, 3]);
    const [payload, ...rest] = new KafkaFrameDecoder().push(chunk);
    expect(rest).toEqual([]);
    expect(Array.from(payload!)).toEqual([1, 2, 3]);
    expect(payload!.buffer).toBe(chunk.buffer);
  });

  it('reassembles a frame split at every possible point, size prefix included', () => {
    const whole = frame([10, 20, 30, 40, 50]);
    for (let cut = 0; cut <= whole.length; cut++) {
      const decoder = new KafkaFrameDecoder();
      const out = pushAll(decoder, [whole.subarray(0, cut), whole.subarray(cut)]);
      expect(out).toEqual([[10, 20, 30, 40, 50]]);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('reassembles a frame written one byte at a time', () => {
    const payload = Array.from({ length: 300 }, (_, i) => i & 0xff);
    const whole = frame(payload);
    const decoder = new KafkaFrameDecoder();
    const out: number[][] = [];
    for (let i = 0; i < whole.length; i++) {
      out.push(...pushAll(decoder, [whole.subarray(i, i + 1)]));
      if (i < whole.length - 1) expect(decoder.bufferedBytes).toBe(i + 1);
    }
    expect(out).toEqual([payload]);
  });

  it('returns every frame of a chunk that holds many, keeping a partial tail', () => {
    const frames = [frame([1]), frame([]), frame([2, 3]), frame([4, 5, 6])];
    const tail = frame([7, 8, 9, 10]);
    const decoder = new KafkaFrameDecoder();
    expect(pushAll(decoder, [concat(...frames, tail.subarray(0, 6))])).toEqual([[1], [], [2, 3], [4, 5, 6]]);
    expect(decoder.bufferedBytes).toBe(6);
    expect(pushAll(decoder, [tail.subarray(6)])).toEqual([[7, 8, 9, 10]]);
  });

  it('handles frames spanning many writes mixed with whole ones', () => {
    const a = frame(Array.from({ length: 50 }, (_, i) => i));
    const b = frame([9]);
    const stream = concat(a, b, a, b);
    const decoder = new KafkaFrameDecoder();
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += 7) chunks.push(stream.subarray(i, i + 7));
    const out = pushAll(decoder, chunks);
    expect(out.map((p) => p.length)).toEqual([50, 1, 50, 1]);
  });

  it('accepts an empty chunk', () => {
    expect(new KafkaFrameDecoder().push(new Uint8Array(0))).toEqual([]);
  });

  it('accepts a frame of exactly maxFrameBytes', () => {
    const decoder = new KafkaFrameDecoder({ maxFrameBytes: 3 });
    expect(pushAll(decoder, [frame([1, 2, 3])])).toEqual([[1, 2, 3]]);
  });

  it('refuses a frame over maxFrameBytes from its size prefix alone, and stays failed', () => {
    const decoder = new KafkaFrameDecoder({ maxFrameBytes: 1000 });
    const size = new Uint8Array([0, 0, 0x03, 0xe9]); // 1001
    let first: unknown;
    try {
      decoder.push(size);
    } catch (err) {
      first = err;
    }
    expect(isTributaryError(first, 'FRAME_TOO_LARGE')).toBe(true);
    expect((first as Error).message).toContain('1001');
    expect(decoder.bufferedBytes).toBe(0);
    expect(() => decoder.push(frame([1]))).toThrow(first as Error);
  });

  it('defaults to 100 MiB, as Kafka socket.request.max.bytes', () => {
    expect(new KafkaFrameDecoder().maxFrameBytes).toBe(DEFAULT_MAX_FRAME_BYTES);
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(104857600);
    const decoder = new KafkaFrameDecoder();
    expect(() => decoder.push(new Uint8Array([0x06, 0x40, 0x00, 0x01]))).toThrow(/exceeds the limit/);
  });

  it('refuses a negative size as malformed', () => {
    const decoder = new KafkaFrameDecoder();
    try {
      decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xfe, 1, 2]));
      expect.unreachable();
    } catch (err) {
      expect(isTributaryError(err, 'MALFORMED_DATA')).toBe(true);
    }
  });

  it('refuses an invalid limit', () => {
    expect(() => new KafkaFrameDecoder({ maxFrameBytes: -1 })).toThrow(/maxFrameBytes/);
    expect(() => new KafkaFrameDecoder({ maxFrameBytes: 2 ** 31 })).toThrow(/maxFrameBytes/);
  });

  it('buffers only the bytes that arrived, whatever the size prefix claims', () => {
    const decoder = new KafkaFrameDecoder();
    decoder.push(new Uint8Array([0x01, 0x00, 0x00, 0x00, 1, 2, 3])); // claims 16 MiB
    expect(decoder.bufferedBytes).toBe(4 + 3);
  });
});
