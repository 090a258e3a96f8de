import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../errors.js';
import { ByteReader } from './byte-reader.js';

type Op = { readonly op: number; readonly len: number };

const OPS = 12;

function apply(r: ByteReader, { op, len }: Op): void {
  switch (op) {
    case 0: {
      const v = r.readInt8();
      expect(v >= -128 && v <= 127).toBe(true);
      break;
    }
    case 1: {
      const v = r.readInt16();
      expect(v >= -32768 && v <= 32767).toBe(true);
      break;
    }
    case 2: {
      const v = r.readInt32();
      expect(v | 0).toBe(v);
      break;
    }
    case 3: {
      const v = r.readUInt32();
      expect(v >>> 0).toBe(v);
      break;
    }
    case 4:
      expect(Number.isSafeInteger(r.readInt64())).toBe(true);
      break;
    case 5: {
      const v = r.readVarint();
      expect(v | 0).toBe(v);
      break;
    }
    case 6: {
      const v = r.readUnsignedVarint();
      expect(v >>> 0).toBe(v);
      break;
    }
    case 7:
      expect(Number.isSafeInteger(r.readVarlong())).toBe(true);
      break;
    case 8:
      expect(r.readBytes(len).length).toBe(len);
      break;
    case 9:
      expect(typeof r.readString(len)).toBe('string');
      break;
    case 10:
      r.skip(len);
      break;
    default:
      // A length read from the data itself, as codecs do.
      r.readBytes(r.readVarint());
      break;
  }
}

describe('ByteReader fuzz', () => {
  it('random bytes and read sequences only ever yield a value or MALFORMED_DATA, within bounds', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(70),
        fc.nat(70),
        fc.array(fc.record({ op: fc.nat(OPS - 1), len: fc.integer({ min: -2, max: 40 }) }), {
          maxLength: 30,
        }),
        (buf, a, b, ops) => {
          const pos = Math.min(a, buf.length);
          const end = Math.max(pos, buf.length - b);
          const r = new ByteReader(buf, pos, end);
          for (const op of ops) {
            const before = r.pos;
            try {
              apply(r, op);
            } catch (e) {
              if (!(e instanceof TributaryError)) throw e;
              expect(e.code).toBe('MALFORMED_DATA');
              // A failed read leaves the cursor where it was (op 11 is two reads).
              if (op.op !== OPS - 1) expect(r.pos).toBe(before);
            }
            expect(r.pos).toBeGreaterThanOrEqual(pos);
            expect(r.pos).toBeLessThanOrEqual(end);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('varint readers stop after 5 / 10 bytes whatever follows', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 11, maxLength: 40 }), (tail) => {
        const buf = tail.map((b) => b | 0x80);
        for (const read of [
          (r: ByteReader) => r.readVarint(),
          (r: ByteReader) => r.readUnsignedVarint(),
          (r: ByteReader) => r.readVarlong(),
        ]) {
          const r = new ByteReader(buf);
          expect(() => read(r)).toThrow(TributaryError);
          expect(r.pos).toBe(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
