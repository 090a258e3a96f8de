import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../../errors.js';
import { crc32c } from './crc32c.js';

const ascii = (s: string) => new TextEncoder().encode(s);

/** Bit-at-a-time reference straight from the definition (reflected polynomial 0x82f63b78). */
function referenceCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  it('matches the standard check value', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
  });

  it('is 0 for no bytes', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  // RFC 3720 (iSCSI) appendix B.4.
  it.each([
    ['32 bytes of zeros', new Uint8Array(32), 0x8a9136aa],
    ['32 bytes of 0xff', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['32 ascending bytes', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ['32 descending bytes', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    [
      'an iSCSI read command PDU',
      Uint8Array.from([
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      ]),
      0xd9963a56,
    ],
  ])('matches RFC 3720 B.4 for %s', (_name, data, expected) => {
    expect(crc32c(data)).toBe(expected);
  });

  it('covers only [start, end) and respects subarray offsets', () => {
    const framed = new Uint8Array(20);
    framed.set(ascii('123456789'), 5);
    expect(crc32c(framed, 5, 14)).toBe(0xe3069283);
    expect(crc32c(framed.subarray(5, 14))).toBe(0xe3069283);
    expect(crc32c(framed.subarray(3), 2, 11)).toBe(0xe3069283);
  });

  it('agrees with the bitwise definition for every length and alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(40), fc.nat(40), (data, a, b) => {
        const start = Math.min(a, data.length);
        const end = Math.max(start, data.length - b);
        expect(crc32c(data, start, end)).toBe(referenceCrc32c(data.subarray(start, end)));
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a range outside the buffer', () => {
    const data = new Uint8Array(4);
    for (const [start, end] of [
      [-1, 4],
      [0, 5],
      [3, 2],
    ] as const) {
      let error: unknown;
      try {
        crc32c(data, start, end);
      } catch (e) {
        error = e;
      }
      expect(isTributaryError(error, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});
