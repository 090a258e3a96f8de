import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTributaryError, TributaryError } from '../../errors.js';
import { deriveScramCredential as derive, fakeScramCredential, type ScramCredential } from './passwords.js';
import { createScramConversation, decodeSaslName, encodeSaslName, type ScramServerOptions } from './scram.js';
import type { ScramMechanism, Session } from './types.js';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);
const SECRET = Buffer.alloc(32, 7);

function deriveScramCredential(
  mechanism: ScramMechanism,
  password: string,
  salt: Buffer,
  iterations: number,
): ScramCredential {
  return derive(password, mechanism, { salt, iterations });
}

/** A stand-in for the Security's session: only its principal name matters here. */
function fakeSession(name: string): Session {
  return { principal: { name, method: 'scram', rules: [] } } as unknown as Session;
}

function server(
  users: Record<string, ScramCredential>,
  mechanism: ScramMechanism,
  extra: ScramServerOptions = {},
) {
  return createScramConversation(
    {
      mechanism,
      connection: { protocol: 'test', remoteAddress: '127.0.0.1' },
      credential: (user) => users[user] ?? fakeScramCredential(user, mechanism, SECRET),
      authenticated: fakeSession,
      failed: (reason) => new TributaryError('UNAUTHENTICATED', { reason }),
    },
    extra,
  );
}

async function expectRefused(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTributaryError(error, 'UNAUTHENTICATED')).toBe(true);
}

/** The client side (RFC 5802 §3), for round trips. */
function clientFinal(
  mechanism: ScramMechanism,
  password: string,
  clientFirstBare: string,
  serverFirst: string,
  gs2 = 'n,,',
  nonce?: string,
): { message: string; serverSignature: string } {
  const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const size = hash === 'sha256' ? 32 : 64;
  const fields = Object.fromEntries(serverFirst.split(',').map((f) => [f[0], f.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(fields.s ?? '', 'base64'), Number(fields.i), size, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=${Buffer.from(gs2).toString('base64')},r=${nonce ?? fields.r}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number)));
  const serverKey = createHmac(hash, salted).update('Server Key').digest();
  return {
    message: `${withoutProof},p=${proof.toString('base64')}`,
    serverSignature: createHmac(hash, serverKey).update(authMessage).digest('base64'),
  };
}

describe('SCRAM server (RFC 5802)', () => {
  it('answers the RFC 7677 SCRAM-SHA-256 example byte for byte', async () => {
    const credential = deriveScramCredential(
      'SCRAM-SHA-256',
      'pencil',
      Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
      4096,
    );
    const conversation = server({ user: credential }, 'SCRAM-SHA-256', {
      serverNonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    });
    const first = await conversation.step(bytes('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    expect(text(first.response)).toBe(
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    );
    expect(first.session).toBeUndefined();
    const final = await conversation.step(
      bytes(
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      ),
    );
    expect(text(final.response)).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    expect(final.session?.principal.name).toBe('user');
    // Done: nothing more is answered.
    await expectRefused(conversation.step(bytes('c=biws')));
  });

  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    it(`${mechanism}: a round trip with the right password, refusals with a wrong one`, async () => {
      const credential = deriveScramCredential(mechanism, 'sêcret', Buffer.from('0123456789abcdef'), 4096);
      const users = { 'al,i=ce': credential };
      const bare = `n=${encodeSaslName('al,i=ce')},r=abcDEF123`;
      const ok = server(users, mechanism);
      const serverFirst = text((await ok.step(bytes(`n,,${bare}`))).response);
      const { message, serverSignature } = clientFinal(mechanism, 'sêcret', bare, serverFirst);
      const done = await ok.step(bytes(message));
      expect(text(done.response)).toBe(`v=${serverSignature}`);
      expect(done.session?.principal.name).toBe('al,i=ce');

      const wrong = server(users, mechanism);
      const wrongFirst = text((await wrong.step(bytes(`n,,${bare}`))).response);
      await expectRefused(wrong.step(bytes(clientFinal(mechanism, 'secret', bare, wrongFirst).message)));
    });
  }

  it("accepts librdkafka's client-final nonce (client nonce, then the combined nonce), nothing else", async () => {
    const credential = deriveScramCredential('SCRAM-SHA-256', 'pw', Buffer.from('saltsaltsaltsalt'), 4096);
    const bare = 'n=bob,r=CN';
    const run = async (nonceOf: (combined: string) => string) => {
      const conversation = server({ bob: credential }, 'SCRAM-SHA-256', { serverNonce: () => 'SN' });
      const first = text((await conversation.step(bytes(`n,,${bare}`))).response);
      const combined = first.split(',')[0]?.slice(2) ?? '';
      const final = clientFinal('SCRAM-SHA-256', 'pw', bare, first, 'n,,', nonceOf(combined));
      return conversation.step(bytes(final.message));
    };
    expect((await run((combined) => `CN${combined}`)).session?.principal.name).toBe('bob');
    await expectRefused(run((combined) => `XX${combined}`));
    await expectRefused(run((combined) => combined.slice(0, -1)));
  });

  it('replaying a client-final in another conversation fails (new server nonce)', async () => {
    const credential = deriveScramCredential('SCRAM-SHA-256', 'pw', Buffer.from('saltsaltsaltsalt'), 4096);
    const bare = 'n=bob,r=clientnonce';
    const a = server({ bob: credential }, 'SCRAM-SHA-256');
    const final = clientFinal(
      'SCRAM-SHA-256',
      'pw',
      bare,
      text((await a.step(bytes(`n,,${bare}`))).response),
    );
    await a.step(bytes(final.message));
    const b = server({ bob: credential }, 'SCRAM-SHA-256');
    await b.step(bytes(`n,,${bare}`));
    await expectRefused(b.step(bytes(final.message)));
  });

  it('an unknown user looks like a known one: stable salt, the usual iterations, the same refusal', async () => {
    const credential = derive('pw', 'SCRAM-SHA-512');
    const users = { bob: credential };
    const firstOf = async (user: string) => {
      const conversation = server(users, 'SCRAM-SHA-512', { serverNonce: () => 'S' });
      const answer = text((await conversation.step(bytes(`n,,n=${user},r=C`))).response);
      return { conversation, answer };
    };
    const ghost1 = await firstOf('ghost');
    const ghost2 = await firstOf('ghost');
    const other = await firstOf('other');
    expect(ghost1.answer).toBe(ghost2.answer);
    expect(ghost1.answer).not.toBe(other.answer);
    const known = await firstOf('bob');
    // Same shape: salt length and iteration count give nothing away.
    const shape = (answer: string) => answer.replace(/s=[^,]+/, `s(${answer.split(',')[1]?.length})`);
    expect(shape(ghost1.answer)).toBe(shape(known.answer));
    // Even the right password of somebody else does not get an unknown user in.
    await expectRefused(
      ghost1.conversation.step(
        bytes(clientFinal('SCRAM-SHA-512', 'pw', 'n=ghost,r=C', ghost1.answer).message),
      ),
    );
  });

  it('accepts y (no channel binding on either side) and refuses p=, m= and a foreign authzid', async () => {
    const credential = deriveScramCredential('SCRAM-SHA-256', 'pw', Buffer.from('saltsaltsaltsalt'), 4096);
    const users = { bob: credential };
    const y = server(users, 'SCRAM-SHA-256');
    const first = text((await y.step(bytes('y,,n=bob,r=N'))).response);
    const final = clientFinal('SCRAM-SHA-256', 'pw', 'n=bob,r=N', first, 'y,,');
    expect((await y.step(bytes(final.message))).session?.principal.name).toBe('bob');
    // c= must echo the header that was sent: y,, is not n,,.
    const mismatch = server(users, 'SCRAM-SHA-256');
    const first2 = text((await mismatch.step(bytes('y,,n=bob,r=N'))).response);
    await expectRefused(
      mismatch.step(bytes(clientFinal('SCRAM-SHA-256', 'pw', 'n=bob,r=N', first2).message)),
    );
    for (const hostile of [
      'p=tls-unique,,n=bob,r=N',
      'n,,m=ext,n=bob,r=N',
      'n,a=alice,n=bob,r=N',
      'n,,n=bo=2Xb,r=N',
      'n,,n=bob,r=N,tokenauth=true',
      'n,,n=bob',
      'n,,r=N,n=bob',
      'n,,n=,r=N',
      'n,,n=bob,r=',
      'n,,n=bob,r=a b',
      'x,,n=bob,r=N',
      '',
    ]) {
      await expectRefused(server(users, 'SCRAM-SHA-256').step(bytes(hostile)));
    }
    expect(
      (await server(users, 'SCRAM-SHA-256').step(bytes('n,a=bob,n=bob,r=N'))).response.length,
    ).toBeGreaterThan(0);
  });

  it('decodes saslnames', () => {
    expect(decodeSaslName('a=2Cb=3Dc')).toBe('a,b=c');
    expect(encodeSaslName('a,b=c')).toBe('a=2Cb=3Dc');
    expect(() => decodeSaslName('a=2')).toThrow();
    expect(() => decodeSaslName('a=')).toThrow();
  });
});
