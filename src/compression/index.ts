/**
 * @module compression
 * Decompresses the records section of a RecordBatch, by the codec in its attributes (bits 0–2):
 * 1 gzip (node:zlib), 2 snappy and 3 lz4 (small decoders here), 4 zstd (`fzstd`, a pure-JS
 * decoder). The log stores Kafka producers' batches as they were sent, compressed or not: this
 * runs when a batch is validated on the way in and whenever its records are decoded on the way
 * out (native subscribers, compaction). Server-side only (node:zlib). Every codec stops at
 * `maxBytes` of output (a decompression bomb costs at most that).
 *
 * @example
 * const records = decompress(2, batch.subarray(61), 64 * 1024 * 1024);
 */
import { gunzipSync } from 'node:zlib';
import { Decompress } from 'fzstd';
import { DecompressError } from './errors.js';
import { lz4FrameDecompress } from './lz4.js';
import { snappyDecompress } from './snappy.js';

export { DecompressError } from './errors.js';

export const CODEC_NAMES: Readonly<Record<number, string>> = {
  0: 'none',
  1: 'gzip',
  2: 'snappy',
  3: 'lz4',
  4: 'zstd',
};

/** Whether `codec` (attributes & 7) can be decompressed here. */
export function isSupportedCodec(codec: number): boolean {
  return codec >= 0 && codec <= 4;
}

/** Decompressed bytes of `input`; `DecompressError` for corrupt input or output past `maxBytes`. */
export function decompress(codec: number, input: Uint8Array, maxBytes: number): Uint8Array {
  switch (codec) {
    case 0:
      return input;
    case 1:
      return gunzip(input, maxBytes);
    case 2:
      return snappyDecompress(input, maxBytes);
    case 3:
      return lz4FrameDecompress(input, maxBytes);
    case 4:
      return zstdDecompress(input, maxBytes);
    default:
      throw new DecompressError(`codec ${codec}`, 'unknown compression codec');
  }
}

function gunzip(input: Uint8Array, maxBytes: number): Uint8Array {
  try {
    return gunzipSync(input, { maxOutputLength: maxBytes });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DecompressError('gzip', `output exceeds the limit of ${maxBytes} bytes`, true);
    }
    throw new DecompressError('gzip', (error as Error).message);
  }
}

function zstdDecompress(input: Uint8Array, maxBytes: number): Uint8Array {
  checkZstdFrames(input, maxBytes);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const stream = new Decompress((chunk) => {
    total += chunk.length;
    if (total > maxBytes)
      throw new DecompressError('zstd', `output exceeds the limit of ${maxBytes} bytes`, true);
    chunks.push(chunk);
  });
  try {
    stream.push(input, true);
  } catch (error) {
    if (error instanceof DecompressError) throw error;
    throw new DecompressError('zstd', (error as Error).message);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let q = 0;
  for (const chunk of chunks) {
    out.set(chunk, q);
    q += chunk.length;
  }
  return out;
}

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_SKIPPABLE_MASK = 0xfffffff0;
const ZSTD_SKIPPABLE = 0x184d2a50;
const ZSTD_BLOCK_MAX = 128 * 1024;

/**
 * Walks the frames and block headers of zstd input (no decoding) and refuses a frame whose
 * window, which the decoder allocates up front, is larger than `maxBytes`: a few bytes could
 * otherwise make it allocate up to 2 GiB. Also refuses truncated frames and reserved block types.
 */
function checkZstdFrames(input: Uint8Array, maxBytes: number): void {
  const fail = (reason: string, tooLarge = false): never => {
    throw new DecompressError('zstd', reason, tooLarge);
  };
  const u32 = (p: number): number =>
    (input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16) | (input[p + 3]! << 24)) >>> 0;
  let p = 0;
  while (p < input.length) {
    if (p + 4 > input.length) fail('truncated frame magic');
    const magic = u32(p);
    p += 4;
    if ((magic & ZSTD_SKIPPABLE_MASK) >>> 0 === ZSTD_SKIPPABLE) {
      if (p + 4 > input.length) fail('truncated skippable frame');
      p += 4 + u32(p);
      continue;
    }
    if (magic !== ZSTD_MAGIC) fail(`bad frame magic 0x${magic.toString(16)}`);
    if (p >= input.length) fail('truncated frame header');
    const descriptor = input[p++]!;
    const contentSizeFlag = descriptor >>> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    const checksum = (descriptor & 0x04) !== 0;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
    let window = 0;
    if (!singleSegment) {
      if (p >= input.length) fail('truncated window descriptor');
      const wd = input[p++]!;
      const base = 2 ** (10 + (wd >>> 3));
      window = base + (base / 8) * (wd & 7);
    }
    p += dictionaryBytes;
    const contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][contentSizeFlag]!;
    if (p + contentSizeBytes > input.length) fail('truncated frame header');
    let contentSize = 0;
    for (let i = contentSizeBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + input[p + i]!;
    if (contentSizeBytes === 2) contentSize += 256;
    p += contentSizeBytes;
    if (singleSegment) window = contentSize;
    if (window > maxBytes || contentSize > maxBytes) {
      fail(`a frame needs ${Math.max(window, contentSize)} bytes, over the limit of ${maxBytes}`, true);
    }
    for (;;) {
      if (p + 3 > input.length) fail('truncated block header');
      const header = input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16);
      p += 3;
      const type = (header >>> 1) & 3;
      const size = header >>> 3;
      if (type === 3) fail('reserved block type');
      if (size > ZSTD_BLOCK_MAX) fail(`block of ${size} bytes`);
      p += type === 1 ? 1 : size;
      if ((header & 1) !== 0) break;
    }
    if (checksum) p += 4;
    if (p > input.length) fail('truncated frame');
  }
}
