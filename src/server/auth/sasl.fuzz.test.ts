import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import { parseOAuthBearerMessage, parsePlainMessage } from './sasl.js';

const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

describe('SASL message fuzz', () => {
  const pieces = fc.array(
    fc.oneof(
      fc.constantFrom('\u0000', '\u0001', 'n', ',', 'a=', 'auth=', 'Bearer ', 'bearer', '=', 'x.y.z', 'p='),
      fc.string({ maxLength: 5 }),
    ),
    { maxLength: 16 },
  );
  const messages = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    pieces.map((p) => bytes(p.join(''))),
  );

  it('hostile messages only ever give UNAUTHENTICATED or well-formed credentials', () => {
    fc.assert(
      fc.property(messages, (message) => {
        for (const parse of [parsePlainMessage, parseOAuthBearerMessage]) {
          try {
            const { credentials } = parse(message);
            if (credentials.kind === 'password') {
              expect(credentials.username.length).toBeGreaterThan(0);
              expect(credentials.password.length).toBeGreaterThan(0);
            } else if (credentials.kind === 'token') {
              expect(credentials.token).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/);
            }
          } catch (error) {
            if (!isTributaryError(error, 'UNAUTHENTICATED')) throw error;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});
