import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../../errors.js';
import { kafkaPartition, murmur2 } from './murmur2.js';

const bytes = (s: string) => new TextEncoder().encode(s);

/** Utils.murmur2 transcribed with BigInt arithmetic modulo 2^32 (Java's int overflow), signed bytes masked. */
function javaMurmur2(data: Uint8Array): number {
  const mask = 0xffffffffn;
  const m = 0x5bd1e995n;
  const mul = (a: bigint, b: bigint) => (a * b) & mask;
  const length = data.length;
  let h = (0x9747b28cn ^ BigInt(length)) & mask;
  const byte = (i: number) => BigInt(data[i]! & 0xff);
  for (let i = 0; i < Math.floor(length / 4); i++) {
    const i4 = i * 4;
    let k = (byte(i4) + (byte(i4 + 1) << 8n) + (byte(i4 + 2) << 16n) + (byte(i4 + 3) << 24n)) & mask;
    k = mul(k, m);
    k ^= k >> 24n;
    k = mul(k, m);
    h = mul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  switch (length % 4) {
    case 3:
      h ^= byte(tail + 2) << 16n;
      h ^= byte(tail + 1) << 8n;
      h ^= byte(tail);
      h = mul(h, m);
      break;
    case 2:
      h ^= byte(tail + 1) << 8n;
      h ^= byte(tail);
      h = mul(h, m);
      break;
    case 1:
      h ^= byte(tail);
      h = mul(h, m);
      break;
  }
  h ^= h >> 13n;
  h = mul(h, m);
  h ^= h >> 15n;
  return Number(BigInt.asIntN(32, h));
}

function expectInvalidArgument(fn: () => unknown): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(isTributaryError(error, 'INVALID_ARGUMENT')).toBe(true);
}

describe('murmur2', () => {
  // org.apache.kafka.common.utils.UtilsTest#testMurmur2
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('matches Kafka UtilsTest for %j', (input, expected) => {
    expect(murmur2(bytes(input))).toBe(expected);
  });

  // kafkajs src/producer/partitioners/defaultJava/murmur2.spec.js, generated with the Java client.
  it.each([
    ['0', 971027396],
    ['1', -1993445489],
    ['128', -326012175],
    ['2187', -1508407203],
    ['16384', -325739742],
    ['78125', -1654490814],
    ['279936', 1462227128],
    ['823543', -2014198330],
    ['2097152', 607668903],
    ['4782969', -1182699775],
    ['10000000', -1830336757],
    ['19487171', -1603849305],
    ['35831808', -857013643],
    ['62748517', -1167431028],
    ['105413504', -381294639],
    ['170859375', -1658323481],
    ['100:48069', 1009543857],
  ])('matches the Java client (kafkajs vectors) for %j', (input, expected) => {
    expect(murmur2(bytes(input))).toBe(expected);
  });

  it('hashes the empty key like Java', () => {
    expect(murmur2(new Uint8Array(0))).toBe(275646681);
  });

  it('agrees with a BigInt transcription of the Java code on random bytes (incl. ≥ 0x80)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
        expect(murmur2(data)).toBe(javaMurmur2(data));
      }),
      { numRuns: 1000 },
    );
  });

  it('returns a signed int32', () => {
    for (let i = 0; i < 1000; i++) {
      const h = murmur2(bytes(`key-${i}`));
      expect(h | 0).toBe(h);
    }
  });
});

describe('kafkaPartition', () => {
  it('is toPositive(murmur2(key)) % partitions', () => {
    // -973932308 & 0x7fffffff = 1173551340
    expect(kafkaPartition(bytes('21'), 1)).toBe(0);
    expect(kafkaPartition(bytes('21'), 10)).toBe(1173551340 % 10);
    expect(kafkaPartition(bytes('21'), 7)).toBe(1173551340 % 7);
    // 479470107 is positive already.
    expect(kafkaPartition(bytes('abc'), 12)).toBe(479470107 % 12);
    for (let i = 0; i < 200; i++) {
      const key = bytes(`k${i}`);
      const p = kafkaPartition(key, 24);
      expect(p).toBe((murmur2(key) & 0x7fffffff) % 24);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(24);
    }
  });

  it('rejects a partition count that is not a positive integer', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) {
      expectInvalidArgument(() => kafkaPartition(bytes('k'), n));
    }
  });
});
