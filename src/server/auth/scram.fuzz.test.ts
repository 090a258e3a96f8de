import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError, TributaryError } from '../../errors.js';
import { deriveScramCredential, fakeScramCredential } from './passwords.js';
import { createScramConversation } from './scram.js';
import type { Session } from './types.js';

const CREDENTIAL = deriveScramCredential('pw', 'SCRAM-SHA-256', { iterations: 4096 });

function conversation() {
  return createScramConversation(
    {
      mechanism: 'SCRAM-SHA-256',
      connection: { protocol: 'test', remoteAddress: '127.0.0.1' },
      credential: (user) =>
        user === 'bob' ? CREDENTIAL : fakeScramCredential(user, 'SCRAM-SHA-256', Buffer.alloc(16)),
      authenticated: () => ({}) as Session,
      failed: (reason) => new TributaryError('UNAUTHENTICATED', { reason }),
    },
    { serverNonce: () => 'S' },
  );
}

/** Text built from SCRAM's own pieces, so the parser gets past its first checks. */
const scramish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'n',
        'y',
        'p=x',
        ',',
        '=',
        'n=',
        'r=',
        'c=',
        'p=',
        'a=',
        'm=',
        '=2C',
        '=3D',
        'biws',
        'bob',
        '\u0000',
        'S',
      ),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 20 },
  )
  .map((parts) => new TextEncoder().encode(parts.join('')));

const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 64 }), scramish);

async function onlyUnauthenticated(step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (error) {
    if (!isTributaryError(error, 'UNAUTHENTICATED')) throw error;
  }
}

describe('SCRAM parser fuzz', () => {
  it('hostile client-first messages only ever give UNAUTHENTICATED', async () => {
    await fc.assert(
      fc.asyncProperty(anyBytes, async (message) => {
        await onlyUnauthenticated(() => conversation().step(message));
      }),
      { numRuns: 2000 },
    );
  });

  it('hostile client-final messages only ever give UNAUTHENTICATED, and never a session', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('bob', 'ghost'), anyBytes, async (user, message) => {
        const c = conversation();
        await c.step(new TextEncoder().encode(`n,,n=${user},r=C`));
        let session: Session | undefined;
        await onlyUnauthenticated(async () => {
          session = (await c.step(message)).session;
        });
        expect(session).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });
});
