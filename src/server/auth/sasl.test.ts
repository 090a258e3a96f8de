import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import { oauthBearerMessage, parseOAuthBearerMessage, parsePlainMessage } from './sasl.js';

const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

function refused(parse: () => unknown): boolean {
  try {
    parse();
    return false;
  } catch (error) {
    if (isTributaryError(error, 'UNAUTHENTICATED')) return true;
    throw error;
  }
}

describe('PLAIN (RFC 4616)', () => {
  it('reads authcid and password, with or without the same authzid', () => {
    expect(parsePlainMessage(bytes('\u0000alice\u0000pw'))).toEqual({
      credentials: { kind: 'password', username: 'alice', password: 'pw' },
      authzid: null,
    });
    expect(parsePlainMessage(bytes('alice\u0000alice\u0000p\u00e4ss')).credentials).toEqual({
      kind: 'password',
      username: 'alice',
      password: 'p\u00e4ss',
    });
  });

  it('refuses acting as someone else, empty fields, wrong shapes and bad UTF-8', () => {
    for (const message of [
      bytes('bob\u0000alice\u0000pw'),
      bytes('\u0000\u0000pw'),
      bytes('\u0000alice\u0000'),
      bytes('alice\u0000pw'),
      bytes('\u0000a\u0000b\u0000c'),
      new Uint8Array([0, 0x61, 0, 0xff]),
      new Uint8Array(16 * 1024 + 1),
    ]) {
      expect(refused(() => parsePlainMessage(message))).toBe(true);
    }
  });
});

describe('OAUTHBEARER (RFC 7628)', () => {
  it('reads the Bearer token, an authzid and ignores extensions', () => {
    expect(parseOAuthBearerMessage(oauthBearerMessage('a.b.c'))).toEqual({
      credentials: { kind: 'token', token: 'a.b.c' },
      authzid: null,
    });
    expect(parseOAuthBearerMessage(oauthBearerMessage('a.b.c', 'alice')).authzid).toBe('alice');
    const withExtension = bytes('n,,\u0001auth=Bearer x.y.z\u0001traceId=1\u0001\u0001');
    expect(parseOAuthBearerMessage(withExtension).credentials).toEqual({ kind: 'token', token: 'x.y.z' });
  });

  it('refuses channel binding, other schemes, a missing or doubled auth and broken framing', () => {
    for (const message of [
      'p=tls-unique,,\u0001auth=Bearer x\u0001\u0001',
      'n,,\u0001auth=Basic x\u0001\u0001',
      'n,,\u0001host=h\u0001\u0001',
      'n,,\u0001auth=Bearer x\u0001auth=Bearer y\u0001\u0001',
      'n,,auth=Bearer x\u0001\u0001',
      'n,,\u0001auth=Bearer x\u0001',
      'n,,\u0001auth=Bearer x y\u0001\u0001',
      'n,a=,\u0001auth=Bearer x\u0001\u0001',
      'n,,\u0001\u0001',
      '',
    ]) {
      expect(
        refused(() => parseOAuthBearerMessage(bytes(message))),
        JSON.stringify(message),
      ).toBe(true);
    }
  });
});
