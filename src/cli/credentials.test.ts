/**
 * Unit tests of the CLI's credential resolution: flags over environment, one kind at a time,
 * the password source, header values that cannot be split, and the Authorization header.
 */
import { describe, expect, it } from 'vitest';
import {
  authorizationHeader,
  CredentialUsageError,
  describeCredentials,
  resolveCredentials,
  sdkAuth,
} from './credentials.js';

const noStdin = async (): Promise<string | undefined> => {
  throw new Error('stdin must not be read');
};

describe('resolveCredentials', () => {
  it('gives nothing without flags or environment', async () => {
    expect(await resolveCredentials({}, {}, noStdin)).toBeUndefined();
  });

  it('takes each kind from its flag', async () => {
    expect(await resolveCredentials({ token: 'a.b.c' }, {}, noStdin)).toEqual({
      kind: 'token',
      token: 'a.b.c',
    });
    expect(await resolveCredentials({ apiKey: 'trb_x' }, {}, noStdin)).toEqual({
      kind: 'apiKey',
      key: 'trb_x',
    });
    expect(
      await resolveCredentials({ user: 'alice', passwordStdin: true }, {}, async () => 'pa ss:word'),
    ).toEqual({ kind: 'password', username: 'alice', password: 'pa ss:word' });
  });

  it('takes each kind from the environment', async () => {
    expect(await resolveCredentials({}, { TRIBUTARY_TOKEN: 't.o.k' }, noStdin)).toEqual({
      kind: 'token',
      token: 't.o.k',
    });
    expect(await resolveCredentials({}, { TRIBUTARY_API_KEY: 'k' }, noStdin)).toEqual({
      kind: 'apiKey',
      key: 'k',
    });
    expect(
      await resolveCredentials({}, { TRIBUTARY_USER: 'bob', TRIBUTARY_PASSWORD: 'secret' }, noStdin),
    ).toEqual({ kind: 'password', username: 'bob', password: 'secret' });
  });

  it('lets a flag win over the environment', async () => {
    const env = { TRIBUTARY_TOKEN: 'env.tok.en', TRIBUTARY_API_KEY: 'k' };
    expect(await resolveCredentials({ user: 'u' }, { ...env, TRIBUTARY_PASSWORD: 'p' }, noStdin)).toEqual({
      kind: 'password',
      username: 'u',
      password: 'p',
    });
  });

  it('refuses two kinds at once, a user without a password, and --password-stdin alone', async () => {
    await expect(resolveCredentials({ token: 't', apiKey: 'k' }, {}, noStdin)).rejects.toThrow(
      CredentialUsageError,
    );
    await expect(
      resolveCredentials({}, { TRIBUTARY_TOKEN: 't', TRIBUTARY_USER: 'u' }, noStdin),
    ).rejects.toThrow(/only one of/);
    await expect(resolveCredentials({ user: 'u' }, {}, noStdin)).rejects.toThrow(/password is needed/);
    await expect(resolveCredentials({ passwordStdin: true }, {}, noStdin)).rejects.toThrow(/needs --user/);
    await expect(
      resolveCredentials({ user: 'u', passwordStdin: true }, {}, async () => undefined),
    ).rejects.toThrow(/no password line/);
    await expect(resolveCredentials({ user: 'a:b' }, { TRIBUTARY_PASSWORD: 'p' }, noStdin)).rejects.toThrow(
      /":"/,
    );
  });

  it('refuses tokens and keys a header cannot carry, and never repeats them', async () => {
    for (const bad of ['', ' ', 'a\r\nX-Evil: 1', 'a b', 'tok\u0000']) {
      const error = await resolveCredentials({ token: bad }, {}, noStdin).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CredentialUsageError);
      if (bad.trim() !== '') expect((error as Error).message).not.toContain(bad.trim());
    }
  });
});

describe('what is sent', () => {
  it('builds Bearer and Basic headers', () => {
    expect(authorizationHeader({ kind: 'token', token: 'a.b.c' })).toBe('Bearer a.b.c');
    expect(authorizationHeader({ kind: 'apiKey', key: 'trb_k' })).toBe('Bearer trb_k');
    const basic = authorizationHeader({ kind: 'password', username: 'alice', password: 'pä:ss' });
    expect(basic).toBe(`Basic ${Buffer.from('alice:pä:ss').toString('base64')}`);
  });

  it('maps to the SDK auth option', () => {
    expect(sdkAuth({ kind: 'token', token: 't' })).toEqual({ token: 't' });
    expect(sdkAuth({ kind: 'apiKey', key: 'k' })).toEqual({ apiKey: 'k' });
    expect(sdkAuth({ kind: 'password', username: 'u', password: 'p' })).toEqual({
      username: 'u',
      password: 'p',
    });
  });

  it('describes credentials without their secret', () => {
    expect(describeCredentials({ kind: 'password', username: 'alice', password: 'hunter2' })).not.toContain(
      'hunter2',
    );
    expect(describeCredentials({ kind: 'token', token: 'secret.token.x' })).not.toContain('secret');
    expect(describeCredentials({ kind: 'apiKey', key: 'trb_secret' })).not.toContain('secret');
  });
});
