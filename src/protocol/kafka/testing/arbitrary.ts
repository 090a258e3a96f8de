/**
 * @module protocol/kafka/testing/arbitrary
 * Test data from a schema: a fast-check arbitrary of every value a codec can encode (fields a
 * version lacks get their default, so decode(encode(v)) must equal v exactly), and fixed sample
 * values (all empty / all null, one of everything). Tests only (excluded from the build).
 */

import fc from 'fast-check';
import type { Codec, Shape } from '../schema.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function integer(min: number, max: number): fc.Arbitrary<number> {
  // Edge values are weighted in: the boundaries are where encoders go wrong.
  return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max, 0, -1));
}

const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.constant(''),
);

function arbitraryOfShape(shape: Shape): fc.Arbitrary<unknown> {
  switch (shape.kind) {
    case 'int8':
      return integer(-128, 127);
    case 'int16':
      return integer(-32768, 32767);
    case 'int32':
      return integer(-2147483648, 2147483647);
    case 'int64':
      return integer(-MAX_SAFE, MAX_SAFE);
    case 'boolean':
      return fc.boolean();
    case 'uuid':
      // Any 16 bytes, not only RFC 4122 ones: Kafka ids are random bits.
      return fc
        .uint8Array({ minLength: 16, maxLength: 16 })
        .map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''))
        .map(
          (h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
        );
    case 'records':
      return fc.uint8Array({ maxLength: 24 });
    case 'bytes':
      return shape.nullable
        ? fc.option(fc.uint8Array({ maxLength: 24 }), { nil: null })
        : fc.uint8Array({ maxLength: 24 });
    case 'string':
      return shape.nullable ? fc.option(text, { nil: null }) : text;
    case 'array': {
      const items = fc.array(arbitraryOf(shape.of), { maxLength: 3 });
      return shape.nullable ? fc.option(items, { nil: null }) : items;
    }
    case 'struct':
      return fc.record(Object.fromEntries(shape.fields.map(([k, c]) => [k, arbitraryOf(c)])));
    case 'absent':
      return fc.constant(shape.value);
    case 'map':
      return arbitraryOf(shape.inner).map(shape.decode);
  }
}

/** Every value `codec` can encode, with defaults for the fields its version lacks. */
export function arbitraryOf<T>(codec: Codec<T>): fc.Arbitrary<T> {
  return arbitraryOfShape(codec.shape) as fc.Arbitrary<T>;
}

export type SampleKind = 'empty' | 'full';

function sampleOfShape(shape: Shape, kind: SampleKind): unknown {
  const full = kind === 'full';
  switch (shape.kind) {
    case 'int8':
      return full ? -128 : 0;
    case 'int16':
      return full ? 32767 : 0;
    case 'int32':
      return full ? -2147483648 : 0;
    case 'int64':
      return full ? -MAX_SAFE : 0;
    case 'boolean':
      return full;
    case 'uuid':
      return full ? 'ffffffff-0000-4000-8000-0123456789ab' : '00000000-0000-0000-0000-000000000000';
    case 'records':
      return full ? new Uint8Array([1, 2, 3]) : new Uint8Array(0);
    case 'bytes':
      if (full) return new Uint8Array([0xff, 0]);
      return shape.nullable ? null : new Uint8Array(0);
    case 'string':
      if (full) return 'ü-topic';
      return shape.nullable ? null : '';
    case 'array':
      if (full) return [sampleOf(shape.of, kind), sampleOf(shape.of, kind)];
      return shape.nullable ? null : [];
    case 'struct':
      return Object.fromEntries(shape.fields.map(([k, c]) => [k, sampleOf(c, kind)]));
    case 'absent':
      return shape.value;
    case 'map':
      return shape.decode(sampleOfShape(shape.inner.shape, kind));
  }
}

/**
 * A fixed value of `codec`: 'empty' has every nullable field null, every array and string
 * empty and numbers 0; 'full' has two elements per array, non-ASCII strings and extreme numbers.
 */
export function sampleOf<T>(codec: Codec<T>, kind: SampleKind): T {
  return sampleOfShape(codec.shape, kind) as T;
}
