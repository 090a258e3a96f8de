/**
 * Decoder fuzzing: whatever arrives from the network or the log (random JSON, random values
 * of any type, valid input with one part broken), the decoders return a valid value or throw
 * MALFORMED_DATA, never another exception; what they return survives a JSON round trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.js';
import { encodeHlc, type Hlc, parseHlc } from './hlc.js';
import { decodeDocState } from './lww-map.js';
import { decodeOperation, type Operation } from './operation.js';
import { documentOf, hlcArb, operationArb, SAMPLE_OPERATIONS } from './testing/arbitraries.js';

const json = (value: unknown): string => JSON.stringify(value);

describe('HLC parser fuzz', () => {
  it('property: parse accepts only canonical encodings (random strings never throw anything else)', () => {
    const nearlyValid = hlcArb.chain((ts) =>
      fc.tuple(fc.nat(), fc.string({ maxLength: 2 })).map(([at, insert]) => {
        const text = encodeHlc(ts);
        const i = at % (text.length + 1);
        return text.slice(0, i) + insert + text.slice(i + 1);
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.string(), nearlyValid), (text) => {
        let ts: Hlc;
        try {
          ts = parseHlc(text);
        } catch (error) {
          expect(isTributaryError(error, 'MALFORMED_DATA')).toBe(true);
          return;
        }
        expect(encodeHlc(ts)).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('operation decoder fuzz', () => {
  const validMutant = fc
    .tuple(fc.constantFrom(...SAMPLE_OPERATIONS), fc.nat(), fc.jsonValue({ maxDepth: 2 }), fc.boolean())
    .map(([op, i, junk, drop]) => {
      const raw = JSON.parse(json(op)) as Record<string, unknown>;
      const keys = Object.keys(raw);
      const key = keys[i % keys.length]!;
      if (drop) delete raw[key];
      else if (key === 'fields' || key === 'counter')
        (raw[key] as Record<string, unknown>)[json(junk).slice(0, 4)] = junk;
      else raw[key] = junk;
      return raw as unknown;
    });

  it('property: random input decodes to an operation or throws MALFORMED_DATA, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true }),
          validMutant,
        ),
        (value) => {
          let op: Operation;
          try {
            op = decodeOperation(value);
          } catch (error) {
            if (!isTributaryError(error, 'MALFORMED_DATA')) throw error;
            return;
          }
          expect(decodeOperation(JSON.parse(json(op)))).toEqual(op);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('document state decoder fuzz', () => {
  it('property: decodeDocState on random input returns a state or throws MALFORMED_DATA', () => {
    const mutated = fc
      .tuple(fc.array(operationArb, { maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), fc.nat(), fc.nat())
      .map(([ops, junk, i, j]) => {
        const state = JSON.parse(json(documentOf(ops))) as {
          fields: Record<string, Record<string, unknown>>;
        };
        const names = Object.keys(state.fields);
        const name = names[i % Math.max(names.length, 1)];
        const field = name === undefined ? undefined : state.fields[name];
        if (field !== undefined) {
          const parts = Object.keys(field);
          const part = parts[j % parts.length]!;
          field[part] = j % 3 === 0 ? junk : { ...(field[part] as object), [json(junk).slice(0, 3)]: junk };
        } else {
          (state as Record<string, unknown>)[json(junk).slice(0, 8)] = junk;
        }
        return state as unknown;
      });
    fc.assert(
      fc.property(fc.oneof(fc.anything({ withNullPrototype: true }), fc.jsonValue(), mutated), (value) => {
        try {
          const doc = decodeDocState(value);
          expect(json(decodeDocState(JSON.parse(json(doc))))).toBe(json(doc));
        } catch (error) {
          if (!isTributaryError(error, 'MALFORMED_DATA')) throw error;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
