import { describe, expect, it } from 'vitest';
import { type ErrorCode, isTributaryError } from '../../../errors.js';
import { crc32c } from '../primitives/crc32c.js';
import {
  decodeRecordBatchRecords,
  encodeRecordBatch,
  RECORD_BATCH_HEADER_BYTES,
  type RecordBatchHeader,
  readRecordBatchHeader,
  recordBatchCrcMatches,
  recordBatchSize,
  writeBaseOffset,
} from './index.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) =>
    Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16),
  );
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

function expectCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  const error = thrown(fn);
  expect(isTributaryError(error, code), String(error)).toBe(true);
  if (message) expect(String(error)).toMatch(message);
}

function header(buf: Uint8Array, position = 0): RecordBatchHeader {
  const h = readRecordBatchHeader(buf, position);
  if (h === null) throw new Error('no header');
  return h;
}

/** Rewrites the CRC after a test tampers with covered bytes, so only the tampering is under test. */
function fixCrc(buf: Uint8Array): Uint8Array {
  new DataView(buf.buffer, buf.byteOffset).setUint32(17, crc32c(buf, 21, buf.length));
  return buf;
}

// One record, key "k", value "v", timestamp 1700000000000 (0x0000018bcfe56800), derived by hand.
const GOLDEN = hex(
  [
    '0000000000000000', // baseOffset 0
    '0000003a', // batchLength 58 (70 - 12)
    '00000000', // partitionLeaderEpoch 0
    '02', // magic
    'e99b8dd8', // crc: CRC-32C of the 49 bytes from attributes on
    '0000', // attributes
    '00000000', // lastOffsetDelta 0
    '0000018bcfe56800', // baseTimestamp
    '0000018bcfe56800', // maxTimestamp
    'ffffffffffffffff', // producerId -1
    'ffff', // producerEpoch -1
    'ffffffff', // baseSequence -1
    '00000001', // recordCount 1
    '10', // record length 8 (zigzag 16)
    '00', // attributes
    '00', // timestampDelta 0
    '00', // offsetDelta 0
    '026b', // key length 1, "k"
    '0276', // value length 1, "v"
    '00', // headerCount 0
  ].join(''),
);

// A batch written by Kafka's Scala producer, from the kafkajs fixture
// src/protocol/requests/fetch/fixtures/v4_from_scala_producer_response.json (first batch).
const SCALA_PRODUCER_BATCH = hex(
  '00000000000000000000005f000000000222ee4df30000000000000000016679fa31200000016679fa3120ffffffff' +
    'ffffffffffffffffffff000000015a0000000a4b45592d314456414c55452d4c6f72656d20697073756d20646f6c' +
    '6f722073697420616d65742d3100',
);

// A gzip-compressed, LogAppendTime batch from kafkajs src/protocol/recordBatch/fixtures/v0_recordbatch.json.
const GZIP_BATCH = Uint8Array.from([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 113, 0, 0, 0, 0, 2, 228, 195, 36, 165, 0, 9, 0, 0, 0, 0, 0, 0, 1, 115, 237,
  245, 255, 167, 0, 0, 1, 115, 237, 245, 255, 201, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 1, 31, 139, 8, 0, 0, 0, 0, 0, 0, 19, 11, 99, 96, 96, 224, 202, 78, 173, 212, 53, 112, 40, 75, 204,
  41, 77, 213, 53, 208, 53, 50, 48, 50, 208, 53, 176, 208, 53, 52, 9, 49, 52, 183, 50, 52, 182, 50, 176, 208,
  51, 179, 48, 138, 98, 0, 0, 181, 227, 241, 167, 44, 0, 0, 0,
]);

describe('encodeRecordBatch', () => {
  it('produces the hand-derived golden bytes', () => {
    expect(GOLDEN.length).toBe(70);
    expect(crc32c(GOLDEN, 21)).toBe(0xe99b8dd8);
    const encoded = encodeRecordBatch({
      baseOffset: 0,
      records: [{ timestamp: 1700000000000, key: utf8('k'), value: utf8('v') }],
    });
    expect(toHex(encoded)).toBe(toHex(GOLDEN));
    expect(encoded.byteLength).toBe(70);
  });

  it('returns batches that own their bytes (a later encode never changes an earlier batch)', () => {
    const input = {
      baseOffset: 0,
      records: [{ timestamp: 1700000000000, key: utf8('k'), value: utf8('v') }],
    };
    const first = encodeRecordBatch(input);
    const second = encodeRecordBatch(input);
    second.fill(0);
    encodeRecordBatch({ ...input, baseOffset: 99 });
    expect(toHex(first)).toBe(toHex(GOLDEN));
  });

  it('reproduces a batch written by the Kafka Scala producer byte for byte', () => {
    const encoded = encodeRecordBatch({
      baseOffset: 0,
      records: [
        { timestamp: 1539644731680, key: utf8('KEY-1'), value: utf8('VALUE-Lorem ipsum dolor sit amet-1') },
      ],
    });
    expect(toHex(encoded)).toBe(toHex(SCALA_PRODUCER_BATCH));
  });

  it('fills the header from the records and options', () => {
    const encoded = encodeRecordBatch({
      baseOffset: 1000,
      producerId: 4242,
      producerEpoch: 3,
      baseSequence: 17,
      partitionLeaderEpoch: 9,
      records: [
        { timestamp: 50, key: null, value: utf8('a') },
        { offsetDelta: 4, timestamp: 30, key: null, value: null },
        { offsetDelta: 10, timestamp: 70, key: utf8('x'), value: utf8('c') },
        { offsetDelta: 11, timestamp: 60, key: null, value: utf8('d') },
      ],
    });
    const h = header(encoded);
    expect(h).toEqual({
      baseOffset: 1000,
      batchLength: encoded.length - 12,
      partitionLeaderEpoch: 9,
      magic: 2,
      crc: crc32c(encoded, 21),
      attributes: 0,
      lastOffsetDelta: 11,
      baseTimestamp: 50,
      maxTimestamp: 70,
      producerId: 4242,
      producerEpoch: 3,
      baseSequence: 17,
      recordCount: 4,
    });
    expect(recordBatchSize(h)).toBe(encoded.length);
    expect(decodeRecordBatchRecords(encoded, 0, h).map((r) => [r.offset, r.timestamp])).toEqual([
      [1000, 50],
      [1004, 30],
      [1010, 70],
      [1011, 60],
    ]);
  });

  it('returns independent buffers, also across scratch growth', () => {
    const small = encodeRecordBatch({
      baseOffset: 0,
      records: [{ timestamp: 1, key: null, value: utf8('a') }],
    });
    const snapshot = toHex(small);
    const big = (n: number, size: number) =>
      encodeRecordBatch({
        baseOffset: 5,
        records: Array.from({ length: n }, (_, i) => ({
          timestamp: i,
          key: null,
          value: new Uint8Array(size).fill(i),
        })),
      });
    const medium = big(300, 1000); // grows past the initial 64 KiB scratch
    const huge = big(5, 1_000_000); // grows past what is kept between calls
    const again = encodeRecordBatch({
      baseOffset: 0,
      records: [{ timestamp: 1, key: null, value: utf8('a') }],
    });
    expect(toHex(small)).toBe(snapshot);
    expect(toHex(again)).toBe(snapshot);
    for (const batch of [medium, huge]) {
      const h = header(batch);
      expect(batch.byteOffset).toBe(0);
      expect(batch.buffer.byteLength).toBe(recordBatchSize(h));
      expect(recordBatchCrcMatches(batch, 0, h)).toBe(true);
      const records = decodeRecordBatchRecords(batch, 0, h);
      expect(records).toHaveLength(h.recordCount);
      expect(records.every((r, i) => r.value?.every((b) => b === (i & 0xff)))).toBe(true);
    }
  });

  it('encodes an empty batch', () => {
    const encoded = encodeRecordBatch({ baseOffset: 7, records: [] });
    expect(encoded.length).toBe(RECORD_BATCH_HEADER_BYTES);
    const h = header(encoded);
    expect([h.recordCount, h.lastOffsetDelta, h.baseTimestamp, h.maxTimestamp]).toEqual([0, -1, -1, -1]);
    expect(recordBatchCrcMatches(encoded, 0, h)).toBe(true);
    expect(decodeRecordBatchRecords(encoded, 0, h)).toEqual([]);
  });

  it('rejects invalid batch fields with INVALID_ARGUMENT', () => {
    const records = [{ timestamp: 1, key: null, value: null }];
    expectCode(() => encodeRecordBatch({ baseOffset: -1, records }), 'INVALID_ARGUMENT');
    expectCode(() => encodeRecordBatch({ baseOffset: 2 ** 53, records }), 'INVALID_ARGUMENT');
    expectCode(() => encodeRecordBatch({ baseOffset: 0, producerEpoch: 40000, records }), 'INVALID_ARGUMENT');
    expectCode(
      () => encodeRecordBatch({ baseOffset: 0, baseSequence: 2 ** 31, records }),
      'INVALID_ARGUMENT',
    );
    expectCode(() => encodeRecordBatch({ baseOffset: 0, producerId: 0.5, records }), 'INVALID_ARGUMENT');
    expectCode(
      () => encodeRecordBatch({ baseOffset: 0, partitionLeaderEpoch: -(2 ** 31) - 1, records }),
      'INVALID_ARGUMENT',
    );
  });

  it('rejects invalid records with INVALID_RECORD', () => {
    const r = { key: null, value: null };
    expectCode(
      () => encodeRecordBatch({ baseOffset: 0, records: [{ ...r, timestamp: 1.5 }] }),
      'INVALID_RECORD',
    );
    expectCode(
      () =>
        encodeRecordBatch({
          baseOffset: 0,
          records: [
            { ...r, timestamp: -Number.MAX_SAFE_INTEGER },
            { ...r, timestamp: Number.MAX_SAFE_INTEGER },
          ],
        }),
      'INVALID_RECORD',
      /record 1: timestamp/,
    );
    expectCode(
      () =>
        encodeRecordBatch({
          baseOffset: 0,
          records: [
            { ...r, timestamp: 0, offsetDelta: 3 },
            { ...r, timestamp: 0, offsetDelta: 3 },
          ],
        }),
      'INVALID_RECORD',
      /record 1: offsetDelta 3/,
    );
    expectCode(
      () => encodeRecordBatch({ baseOffset: 0, records: [{ ...r, timestamp: 0, offsetDelta: -1 }] }),
      'INVALID_RECORD',
    );
    expectCode(
      () => encodeRecordBatch({ baseOffset: 0, records: [{ ...r, timestamp: 0, offsetDelta: 2 ** 31 }] }),
      'INVALID_RECORD',
    );
  });
});

describe('readRecordBatchHeader', () => {
  it('reads a batch written by Kafka, with its CRC', () => {
    const h = header(SCALA_PRODUCER_BATCH);
    expect(h).toMatchObject({ baseOffset: 0, batchLength: 95, magic: 2, crc: 0x22ee4df3, recordCount: 1 });
    expect(recordBatchCrcMatches(SCALA_PRODUCER_BATCH, 0, h)).toBe(true);
    const [record] = decodeRecordBatchRecords(SCALA_PRODUCER_BATCH, 0, h);
    expect(record).toEqual({
      offset: 0,
      timestamp: 1539644731680,
      key: utf8('KEY-1'),
      value: utf8('VALUE-Lorem ipsum dolor sit amet-1'),
      headers: [],
    });
  });

  it('reads a compressed Kafka batch header, and decoding it says compression is unsupported', () => {
    const h = header(GZIP_BATCH);
    expect(h).toMatchObject({
      baseOffset: 0,
      attributes: 9, // gzip + LogAppendTime
      baseTimestamp: 1597425188775,
      maxTimestamp: 1597425188809,
      producerId: -1,
      producerEpoch: 0,
      baseSequence: 0,
      recordCount: 1,
    });
    expect(recordBatchSize(h)).toBe(GZIP_BATCH.length);
    expect(recordBatchCrcMatches(GZIP_BATCH, 0, h)).toBe(true);
    expectCode(
      () => decodeRecordBatchRecords(GZIP_BATCH, 0, h),
      'MALFORMED_DATA',
      /compression codec 1 is not supported here/,
    );
  });

  it('returns null for a torn tail shorter than a header', () => {
    const two = new Uint8Array(GOLDEN.length + 60);
    two.set(GOLDEN);
    two.set(GOLDEN.subarray(0, 60), GOLDEN.length);
    expect(readRecordBatchHeader(two, GOLDEN.length)).toBeNull();
    expect(readRecordBatchHeader(two, two.length)).toBeNull();
    expect(readRecordBatchHeader(new Uint8Array(0), 0)).toBeNull();
    expect(readRecordBatchHeader(GOLDEN.subarray(0, 61), 0)).not.toBeNull();
  });

  it('reads at a position inside a larger buffer', () => {
    const buf = new Uint8Array(5 + GOLDEN.length);
    buf.set(GOLDEN, 5);
    const h = header(buf, 5);
    expect(recordBatchCrcMatches(buf, 5, h)).toBe(true);
    expect(decodeRecordBatchRecords(buf, 5, h).map((r) => text(r.value))).toEqual(['v']);
  });

  it.each<[string, (b: DataView) => void, RegExp]>([
    ['magic 1', (v) => v.setInt8(16, 1), /magic .* is 1/],
    ['batchLength 48', (v) => v.setInt32(8, 48), /batchLength 48/],
    ['negative batchLength', (v) => v.setInt32(8, -1), /batchLength -1/],
    ['negative recordCount', (v) => v.setInt32(57, -1), /recordCount -1/],
    ['negative lastOffsetDelta with records', (v) => v.setInt32(23, -1), /lastOffsetDelta -1/],
    ['more records than offsets', (v) => v.setInt32(57, 2), /2 records cannot fit in 1 offsets/],
    ['negative baseOffset', (v) => v.setInt32(0, -1), /baseOffset/],
    ['baseOffset beyond 2^53', (v) => v.setInt32(0, 0x00200000), /baseOffset .* safe integer/],
    ['maxTimestamp beyond 2^53', (v) => v.setInt32(35, 0x7fffffff), /maxTimestamp .* safe integer/],
  ])('rejects %s', (_name, tamper, message) => {
    const buf = GOLDEN.slice();
    tamper(new DataView(buf.buffer));
    expectCode(() => readRecordBatchHeader(buf, 0), 'MALFORMED_DATA', message);
  });

  it('accepts an empty batch whose lastOffsetDelta is kept from before compaction', () => {
    const buf = encodeRecordBatch({ baseOffset: 0, records: [] });
    new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setInt32(23, 41);
    expect(header(fixCrc(buf)).lastOffsetDelta).toBe(41);
  });

  it('rejects a negative or fractional position', () => {
    expectCode(() => readRecordBatchHeader(GOLDEN, -1), 'INVALID_ARGUMENT');
    expectCode(() => readRecordBatchHeader(GOLDEN, 0.5), 'INVALID_ARGUMENT');
  });
});

describe('recordBatchCrcMatches', () => {
  it('detects a flipped bit anywhere in the covered bytes (21..end)', () => {
    for (let i = 21; i < GOLDEN.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const buf = GOLDEN.slice();
        buf[i]! ^= 1 << bit;
        let h: RecordBatchHeader | null;
        try {
          h = readRecordBatchHeader(buf, 0);
        } catch {
          continue; // the header check caught it first
        }
        expect(h !== null && recordBatchCrcMatches(buf, 0, h), `byte ${i} bit ${bit}`).toBe(false);
      }
    }
  });

  it('does not cover baseOffset or partitionLeaderEpoch', () => {
    const moved = GOLDEN.slice();
    moved[7] = 99;
    new DataView(moved.buffer).setInt32(12, 5); // partitionLeaderEpoch
    expect(recordBatchCrcMatches(moved, 0, header(moved))).toBe(true);
  });

  it('throws MALFORMED_DATA when the batch runs past the buffer', () => {
    const torn = GOLDEN.subarray(0, 69);
    expectCode(() => recordBatchCrcMatches(torn, 0, header(torn)), 'MALFORMED_DATA', /needs 70 bytes/);
    expectCode(() => decodeRecordBatchRecords(torn, 0, header(torn)), 'MALFORMED_DATA', /needs 70 bytes/);
  });
});

describe('writeBaseOffset', () => {
  it('re-stamps the base offset in place and keeps the CRC valid', () => {
    const buf = new Uint8Array(3 + GOLDEN.length);
    buf.set(GOLDEN, 3);
    writeBaseOffset(buf, 3, 2 ** 40 + 5);
    const h = header(buf, 3);
    expect(h.baseOffset).toBe(2 ** 40 + 5);
    expect(recordBatchCrcMatches(buf, 3, h)).toBe(true);
    expect(decodeRecordBatchRecords(buf, 3, h)[0]?.offset).toBe(2 ** 40 + 5);
    expect(toHex(buf.subarray(11))).toBe(toHex(GOLDEN.subarray(8)));
  });

  it('rejects offsets it cannot store and positions outside the buffer', () => {
    const buf = GOLDEN.slice();
    expectCode(() => writeBaseOffset(buf, 0, -1), 'INVALID_ARGUMENT');
    expectCode(() => writeBaseOffset(buf, 0, 2 ** 53), 'INVALID_ARGUMENT');
    expectCode(() => writeBaseOffset(buf, 63, 1), 'INVALID_ARGUMENT');
    expect(toHex(buf)).toBe(toHex(GOLDEN));
  });
});

describe('decodeRecordBatchRecords', () => {
  const batch = encodeRecordBatch({
    baseOffset: 100,
    records: [
      { timestamp: 1000, key: utf8('a'), value: utf8('1'), headers: [{ key: 'trace', value: utf8('t1') }] },
      { offsetDelta: 2, timestamp: 999, key: null, value: utf8('2') },
      { offsetDelta: 5, timestamp: 1005, key: utf8('c'), value: null },
    ],
  });

  it('decodes offsets, timestamps, nulls and headers; keys and values are views of the buffer', () => {
    const records = decodeRecordBatchRecords(batch, 0, header(batch));
    expect(records.map((r) => [r.offset, r.timestamp, text(r.key), text(r.value)])).toEqual([
      [100, 1000, 'a', '1'],
      [102, 999, null, '2'],
      [105, 1005, 'c', null],
    ]);
    expect(records[0]?.headers).toEqual([{ key: 'trace', value: utf8('t1') }]);
    expect(records[0]?.value?.buffer).toBe(batch.buffer);
    // Records without headers share one frozen array.
    expect(records[1]?.headers).toBe(records[2]?.headers);
    expect(Object.isFrozen(records[1]?.headers)).toBe(true);
  });

  it('skips records below fromOffset', () => {
    const h = header(batch);
    const offsets = (from?: number) => decodeRecordBatchRecords(batch, 0, h, from).map((r) => r.offset);
    expect(offsets()).toEqual([100, 102, 105]);
    expect(offsets(0)).toEqual([100, 102, 105]);
    expect(offsets(101)).toEqual([102, 105]);
    expect(offsets(102)).toEqual([102, 105]);
    expect(offsets(105)).toEqual([105]);
    expect(offsets(106)).toEqual([]);
  });

  it('returns control and transactional batches like any batch', () => {
    const buf = batch.slice();
    new DataView(buf.buffer).setInt16(21, 0x30);
    const h = header(fixCrc(buf));
    expect(recordBatchCrcMatches(buf, 0, h)).toBe(true);
    expect(decodeRecordBatchRecords(buf, 0, h)).toHaveLength(3);
  });

  it('uses maxTimestamp for every record of a LogAppendTime batch, as Kafka does', () => {
    const buf = batch.slice();
    new DataView(buf.buffer).setInt16(21, 0x08);
    const records = decodeRecordBatchRecords(buf, 0, header(fixCrc(buf)));
    expect(records.map((r) => r.timestamp)).toEqual([1005, 1005, 1005]);
  });

  it('decodes a null header value as empty bytes', () => {
    // record: length 9, null key and value, 1 header: key "h" (length 1 → 0x02), value length -1 (0x01)
    const buf = hex(`
      0000000000000000 00000041 00000000 02 00000000 0000 00000000
      0000000000000001 0000000000000001 ffffffffffffffff ffff ffffffff 00000001
      12 00 00 00 01 01 02 02 68 01`);
    new DataView(buf.buffer).setInt32(8, buf.length - 12);
    const [record] = decodeRecordBatchRecords(buf, 0, header(fixCrc(buf)));
    expect(record?.headers).toEqual([{ key: 'h', value: new Uint8Array(0) }]);
  });

  it.each<[string, string, RegExp]>([
    ['record longer than the batch', '14 00 00 00 02 6b 02 76 00', /impossible length/],
    ['record length below the minimum', '0a 00 00 00 02 6b 02 76 00', /impossible length/],
    [
      'record shorter than its fields',
      '0e 00 00 00 02 6b 02 76 00 00',
      /runs past the end|cut off|records end/,
    ],
    ['fields shorter than the record', '12 00 00 00 02 6b 02 76 00 00', /fields end 1 early/],
    ['offsetDelta beyond lastOffsetDelta', '10 00 00 02 02 6b 02 76 00', /offsetDelta 1 is outside \[0, 0\]/],
    ['negative offsetDelta', '10 00 00 01 02 6b 02 76 00', /offsetDelta -1/],
    ['key length below -1', '10 00 00 00 03 6b 02 76 00', /invalid bytes length -2/],
    ['negative header count', '10 00 00 00 02 6b 02 76 01', /headerCount -1/],
    ['absurd header count', '10 00 00 00 02 6b 02 76 20', /headerCount 16/],
    [
      'trailing bytes after the records',
      '10 00 00 00 02 6b 02 76 00 00 00 00 00 00 00 00',
      /records end at byte 70/,
    ],
  ])('rejects %s', (_name, recordHex, message) => {
    const records = hex(recordHex);
    const buf = new Uint8Array(61 + records.length);
    buf.set(GOLDEN.subarray(0, 61));
    buf.set(records, 61);
    new DataView(buf.buffer).setInt32(8, buf.length - 12);
    expectCode(() => decodeRecordBatchRecords(buf, 0, header(fixCrc(buf))), 'MALFORMED_DATA', message);
  });

  it('rejects a recordCount the bytes cannot hold, before allocating for it', () => {
    const buf = GOLDEN.slice();
    const v = new DataView(buf.buffer);
    v.setInt32(57, 2_000_000_000);
    v.setInt32(23, 2_000_000_000);
    expectCode(
      () => decodeRecordBatchRecords(buf, 0, header(fixCrc(buf))),
      'MALFORMED_DATA',
      /recordCount 2000000000/,
    );
  });

  it('rejects fewer records than recordCount', () => {
    const two = encodeRecordBatch({
      baseOffset: 0,
      records: [
        { timestamp: 0, key: null, value: utf8('aaaaaaaa') },
        { timestamp: 0, key: null, value: utf8('b') },
      ],
    });
    const buf = two.slice();
    new DataView(buf.buffer).setInt32(57, 3);
    expectCode(() => decodeRecordBatchRecords(buf, 0, header(fixCrc(buf))), 'MALFORMED_DATA');
    new DataView(buf.buffer).setInt32(57, 1);
    expectCode(
      () => decodeRecordBatchRecords(buf, 0, header(fixCrc(buf))),
      'MALFORMED_DATA',
      /records end at/,
    );
  });
});
