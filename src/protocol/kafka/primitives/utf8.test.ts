import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { putUtf8, utf8Length } from './utf8.js';

const encoder = new TextEncoder();

describe('utf8Length / putUtf8', () => {
  it.each(['', 'trace-id', 'é', '日本語', '🎉', 'a\ud800b', '\udc00', '\ud83c', 'x🎉é日'])(
    'agree with TextEncoder for %j',
    (s) => {
      const expected = encoder.encode(s);
      expect(utf8Length(s)).toBe(expected.length);
      const out = new Uint8Array(expected.length + 2);
      expect(putUtf8(out, 1, s, expected.length)).toBe(expected.length + 1);
      expect([...out.subarray(1, -1)]).toEqual([...expected]);
    },
  );

  it('agree with TextEncoder on arbitrary strings, lone surrogates included (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string()),
        (s) => {
          const expected = encoder.encode(s);
          const n = utf8Length(s);
          expect(n).toBe(expected.length);
          const out = new Uint8Array(n);
          putUtf8(out, 0, s, n);
          expect(out).toEqual(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
