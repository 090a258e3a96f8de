import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrowserPolicy, hostHeaderName, hostName } from './browser.js';

const loopback = (options: ConstructorParameters<typeof BrowserPolicy>[0] = {}) =>
  new BrowserPolicy({ loopback: true, boundHost: '127.0.0.1', ...options });

describe('BrowserPolicy: Host', () => {
  it('answers a loopback server by its loopback names only, with or without port', () => {
    const policy = loopback();
    for (const host of [
      'localhost',
      'localhost:7700',
      '127.0.0.1:7700',
      '[::1]:7700',
      '[::1]',
      'LOCALHOST:1',
    ]) {
      expect(policy.hostAllowed(host), host).toBe(true);
    }
    for (const host of [
      'evil.test',
      'evil.test:7700',
      'localhost.',
      '127.0.0.2:7700',
      'localhost.evil.test',
      '',
    ]) {
      expect(policy.hostAllowed(host), host).toBe(false);
      expect(policy.check(host, undefined, false)?.code, host).toBe('HOST_NOT_ALLOWED');
    }
    // No Host header: not a browser (HTTP/1.0 tools); nothing to rebind.
    expect(policy.hostAllowed(undefined)).toBe(true);
  });

  it('adds the bound host to the loopback names', () => {
    expect(loopback({ boundHost: '127.0.0.5' }).hostAllowed('127.0.0.5:80')).toBe(true);
    expect(loopback({ boundHost: '::1' }).hostAllowed('[::1]:80')).toBe(true);
    expect(loopback({ boundHost: 'my-box' }).hostAllowed('my-box:80')).toBe(true);
  });

  it('takes an explicit list instead of the defaults, and * for any', () => {
    const policy = loopback({ allowedHosts: ['app.example.com'] });
    expect(policy.hostAllowed('app.example.com:7700')).toBe(true);
    expect(policy.hostAllowed('localhost:7700')).toBe(false);
    expect(loopback({ allowedHosts: ['*'] }).hostAllowed('evil.test')).toBe(true);
  });

  it('answers any host when not on loopback and no list is given', () => {
    const policy = new BrowserPolicy({ loopback: false, boundHost: '0.0.0.0' });
    expect(policy.hostAllowed('anything.example:1')).toBe(true);
    expect(policy.allowedHosts).toBeNull();
    expect(new BrowserPolicy({ loopback: false, allowedHosts: ['a.example'] }).hostAllowed('b.example')).toBe(
      false,
    );
  });
});

describe('BrowserPolicy: Origin', () => {
  it("allows the server's own origin, refuses every other by default", () => {
    const policy = loopback();
    expect(policy.originAllowed('http://localhost:7700', 'localhost:7700', false)).toBe(true);
    expect(policy.originAllowed('http://127.0.0.1:7700', '127.0.0.1:7700', false)).toBe(true);
    expect(policy.crossOrigin('http://localhost:7700', 'localhost:7700', false)).toBe(false);
    for (const origin of [
      'http://localhost:7701', // another port is another origin
      'http://127.0.0.1:7700', // another name too
      'https://localhost:7700', // and another scheme
      'http://localhost:7700.evil.test',
      'null',
      '',
    ]) {
      expect(policy.originAllowed(origin, 'localhost:7700', false), origin).toBe(false);
      expect(policy.check('localhost:7700', origin, false)?.code, origin).toBe('ORIGIN_NOT_ALLOWED');
    }
    // Over TLS the own origin is https.
    expect(policy.originAllowed('https://localhost:7700', 'localhost:7700', true)).toBe(true);
    expect(policy.originAllowed('http://localhost:7700', 'localhost:7700', true)).toBe(false);
  });

  it('allows listed origins exactly, and any with *', () => {
    const policy = loopback({ allowedOrigins: ['https://app.example.com'] });
    expect(policy.originAllowed('https://app.example.com', 'localhost:7700', false)).toBe(true);
    expect(policy.crossOrigin('https://app.example.com', 'localhost:7700', false)).toBe(true);
    expect(policy.originAllowed('https://app.example.com:443', 'localhost:7700', false)).toBe(false);
    expect(policy.originAllowed('https://evil.app.example.com', 'localhost:7700', false)).toBe(false);
    expect(policy.originAllowed('http://app.example.com', 'localhost:7700', false)).toBe(false);
    expect(policy.anyOrigin).toBe(false);
    const any = loopback({ allowedOrigins: ['*'] });
    expect(any.anyOrigin).toBe(true);
    expect(any.originAllowed('https://whoever.example', 'localhost:7700', false)).toBe(true);
  });

  it('checks the host before the origin: a rebinding page is same-origin with itself', () => {
    const policy = loopback();
    expect(policy.check('evil.test:7700', 'http://evil.test:7700', false)?.code).toBe('HOST_NOT_ALLOWED');
    expect(policy.check('localhost:7700', undefined, false)).toBeUndefined();
  });
});

describe('host names', () => {
  it('strips the port of a Host header and brackets IPv6 listen addresses', () => {
    expect(hostName('localhost:7700')).toBe('localhost');
    expect(hostName('[::1]:7700')).toBe('[::1]');
    expect(hostName('[::1]')).toBe('[::1]');
    expect(hostName('example.com')).toBe('example.com');
    expect(hostHeaderName('::1')).toBe('[::1]');
    expect(hostHeaderName('My-Box')).toBe('my-box');
  });

  it('never throws on hostile Host and Origin headers, and refuses them', () => {
    const policy = loopback();
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), (host, origin) => {
        const refused = policy.check(host, origin, false);
        const name = hostName(host).toLowerCase();
        if (!['localhost', '127.0.0.1', '[::1]'].includes(name))
          expect(refused?.code).toBe('HOST_NOT_ALLOWED');
        else if (
          origin !== undefined &&
          origin !== `http://${host}` &&
          origin !== `http://${host.toLowerCase()}`
        )
          expect(refused?.code).toBe('ORIGIN_NOT_ALLOWED');
      }),
    );
  });
});
