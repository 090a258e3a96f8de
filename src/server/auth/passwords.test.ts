import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deriveScramCredential,
  fakeScramCredential,
  hashPassword,
  parseScryptHash,
  SCRYPT_DEFAULTS,
  strictBase64,
  verifyPassword,
} from './passwords.js';

const FAST = { N: 1024, r: 8, p: 1 };

describe('scrypt passwords', () => {
  it('verifies the right password and refuses others', async () => {
    const stored = await hashPassword('correct horse', FAST);
    expect(stored).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword(stored, 'correct horse')).toBe(true);
    expect(await verifyPassword(stored, 'correct horsf')).toBe(false);
    expect(await verifyPassword(stored, '')).toBe(false);
    expect(await verifyPassword(stored, 'correct horse ')).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('x', FAST)).not.toBe(await hashPassword('x', FAST));
  });

  it('uses the default cost unless told otherwise', async () => {
    const stored = await hashPassword('pw');
    expect(stored.startsWith(`scrypt$${SCRYPT_DEFAULTS.N}$8$1$`)).toBe(true);
    expect(await verifyPassword(stored, 'pw')).toBe(true);
  });

  it('refuses malformed and abusive stored hashes', async () => {
    const good = await hashPassword('pw', FAST);
    const [, , , , salt, hash] = good.split('$');
    const cases: Record<string, RegExp> = {
      pw: /not a scrypt hash/,
      [`bcrypt$1024$8$1$${salt}$${hash}`]: /not a scrypt hash/,
      [`scrypt$1000$8$1$${salt}$${hash}`]: /power of two/,
      [`scrypt$${2 ** 21}$8$1$${salt}$${hash}`]: /power of two/,
      [`scrypt$1024$0$1$${salt}$${hash}`]: /scrypt r/,
      [`scrypt$1024$8$99$${salt}$${hash}`]: /scrypt p/,
      [`scrypt$1024$8$1$short$${hash}`]: /salt/,
      [`scrypt$1024$8$1$${salt}$AAAA`]: /hash/,
      [`scrypt$1024$8$1$${salt}$${hash}$`]: /not a scrypt hash/,
      [`scrypt$${2 ** 20}$32$16$${salt}$${hash}`]: /too much memory/,
    };
    for (const [text, problem] of Object.entries(cases)) {
      expect(parseScryptHash(text), text).toMatch(problem);
      expect(await verifyPassword(text, 'pw')).toBe(false);
    }
  });

  it('accepts only canonical base64', () => {
    expect(strictBase64('AAAA')?.length).toBe(3);
    expect(strictBase64('AAA')).toBeUndefined();
    expect(strictBase64('AA-_')).toBeUndefined();
    expect(strictBase64('AB==')).toBeUndefined(); // non-zero padding bits
    expect(strictBase64('')).toBeUndefined();
  });
});

describe('SCRAM credentials', () => {
  it('match the RFC 7677 SCRAM-SHA-256 example (user "user", password "pencil")', () => {
    const credential = deriveScramCredential('pencil', 'SCRAM-SHA-256', {
      salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
      iterations: 4096,
    });
    const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    // The server's signature the RFC shows.
    const serverSignature = createHmac('sha256', credential.serverKey).update(authMessage).digest('base64');
    expect(serverSignature).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    // The client's proof the RFC shows checks out against StoredKey.
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    const clientSignature = createHmac('sha256', credential.storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(proof.map((b, i) => b ^ (clientSignature[i] as number)));
    expect(createHash('sha256').update(clientKey).digest().equals(credential.storedKey)).toBe(true);
  });

  it('derives SCRAM-SHA-512 keys of 64 bytes that a client proof matches', () => {
    const credential = deriveScramCredential('pencil', 'SCRAM-SHA-512');
    expect(credential.storedKey.length).toBe(64);
    expect(credential.serverKey.length).toBe(64);
    expect(credential.iterations).toBe(8192);
    const salted = pbkdf2Sync('pencil', credential.salt, credential.iterations, 64, 'sha512');
    const clientKey = createHmac('sha512', salted).update('Client Key').digest();
    expect(createHash('sha512').update(clientKey).digest().equals(credential.storedKey)).toBe(true);
    const wrong = deriveScramCredential('pencil!', 'SCRAM-SHA-512', { salt: credential.salt });
    expect(wrong.storedKey.equals(credential.storedKey)).toBe(false);
  });

  it('gives unknown users a stable fake salt', () => {
    const secret = Buffer.alloc(32, 7);
    const a = fakeScramCredential('nobody', 'SCRAM-SHA-256', secret);
    const b = fakeScramCredential('nobody', 'SCRAM-SHA-256', secret);
    expect(a.salt.equals(b.salt)).toBe(true);
    expect(a.storedKey.equals(b.storedKey)).toBe(false);
    expect(fakeScramCredential('other', 'SCRAM-SHA-256', secret).salt.equals(a.salt)).toBe(false);
  });
});
