/**
 * Fuzz tests of the native protocol decoders: whatever arrives — random bytes, random MessagePack
 * values, random JSON, valid frames with mutated bytes or fields — a decoder returns a checked
 * frame or throws a TributaryError, never anything else.
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import { decodeClientFrame, decodeServerFrame, encodeFrame } from './frames.js';
import { decodeResult, REQUEST_TYPES } from './requests.js';
import { nestedValues } from './testing/arbitraries.js';
import { SAMPLE_CLIENT_FRAMES, SAMPLE_SERVER_FRAMES } from './testing/samples.js';
import type { RequestType } from './types.js';

const RUNS = 2_000;
const packr = new Packr({ useRecords: false });

function typedOutcome(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof TributaryError)) throw error;
    expect(error.code).toBe('PROTOCOL_ERROR');
  }
}

function decodeBoth(data: Uint8Array | string): void {
  typedOutcome(() => decodeClientFrame(data));
  typedOutcome(() => decodeServerFrame(data));
}

/** Any MessagePack-representable value, biased toward maps with the protocol's field names. */
const FIELD_NAMES = [
  'type',
  'id',
  'topic',
  'partition',
  'records',
  'key',
  'value',
  'headers',
  'offset',
  'from',
  'credit',
  'sub',
  'n',
  'groupId',
  'memberId',
  'generation',
  'offsets',
  'partitions',
  'config',
  'name',
  'ok',
  'error',
  'protocol',
  'client',
  'producerId',
  'producerEpoch',
  'baseSequence',
  'timestamp',
  'details',
  'code',
];
const TYPES = [
  'hello',
  'ping',
  'pong',
  'welcome',
  'response',
  'delivery',
  'assignment',
  'error',
  ...REQUEST_TYPES,
];
const leaf = fc.oneof(
  fc.constantFrom(...TYPES),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 8 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
);
const value = nestedValues(leaf, {
  itemsMax: 4,
  keysMax: 6,
  keys: fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string()),
});

const samples = [...SAMPLE_CLIENT_FRAMES, ...SAMPLE_SERVER_FRAMES];

describe('native protocol decoders under fuzzing', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodeBoth(bytes)),
      { numRuns: RUNS },
    );
  });

  it('random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => decodeBoth(text)),
      { numRuns: RUNS },
    );
  });

  it('random MessagePack values and JSON documents', () => {
    fc.assert(
      fc.property(value, (v) => {
        decodeBoth(packr.pack(v));
        const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
        if (text !== undefined) decodeBoth(text);
        for (const type of REQUEST_TYPES) {
          typedOutcome(() => decodeResult(type as RequestType, v, 'msgpack'));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('random maps with a valid request type and random fields', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TYPES),
        fc.dictionary(fc.constantFrom(...FIELD_NAMES), value, { maxKeys: 8 }),
        (type, fields) => decodeBoth(packr.pack({ ...fields, type })),
      ),
      { numRuns: RUNS },
    );
  });

  it('valid frames with mutated bytes (flips, truncations, insertions)', () => {
    const seeds = samples.map((frame) => encodeFrame(frame, 'msgpack') as Uint8Array);
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(
          fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert')),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        (seed, mutations) => {
          let bytes = Uint8Array.from(seed);
          for (const [at, byte, kind] of mutations) {
            const i = at % Math.max(1, bytes.length);
            if (kind === 'set') bytes[i] = byte;
            else if (kind === 'cut') bytes = bytes.slice(0, i);
            else bytes = Uint8Array.from([...bytes.slice(0, i), byte, ...bytes.slice(i)]);
          }
          decodeBoth(bytes);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('valid frames with one field replaced by a random value', () => {
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.nat(), value, (frame, pick, replacement) => {
        const names = Object.keys(frame);
        const name = names[pick % names.length]!;
        const mutated = { ...frame, [name]: replacement };
        decodeBoth(packr.pack(mutated));
        decodeBoth(encodeFrame(mutated as never, 'json'));
      }),
      { numRuns: RUNS },
    );
  });

  it('valid JSON frames with mutated characters', () => {
    const seeds = samples.map((frame) => encodeFrame(frame, 'json') as string);
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 3 }),
        (seed, at, insert) => {
          const i = at % seed.length;
          decodeBoth(seed.slice(0, i) + insert + seed.slice(i + 1));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('deeply nested input', () => {
    const depth = 100_000;
    decodeBoth(new Uint8Array(depth).fill(0x91));
    decodeBoth('['.repeat(depth) + ']'.repeat(depth));
    decodeBoth(`{"type":"produce","id":1,"topic":"t","records":${'['.repeat(5000)}${']'.repeat(5000)}}`);
  });
});
