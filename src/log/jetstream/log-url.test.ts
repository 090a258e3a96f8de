import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import { checkSettings } from '../../server/settings.js';
import { isNatsLogUrl, parseNatsLogUrl } from './log-url.js';

describe('the --log setting', () => {
  it('reads servers, default ports, credentials and tls://', () => {
    expect(parseNatsLogUrl('nats://127.0.0.1:4222')).toEqual({ servers: ['127.0.0.1:4222'], tls: false });
    expect(parseNatsLogUrl('nats://app:s%40cret@n1:4223, n2 ,nats://n3:5000')).toEqual({
      servers: ['n1:4223', 'n2:4222', 'n3:5000'],
      user: 'app',
      pass: 's@cret',
      tls: false,
    });
    expect(parseNatsLogUrl('tls://n1:4222').tls).toBe(true);
    expect(isNatsLogUrl('nats://n1')).toBe(true);
    expect(isNatsLogUrl('')).toBe(false);
  });

  it.each([
    'n1:4222',
    'http://n1:4222',
    'nats://n1:4222/path',
    'nats://',
    'nats://n1:4222,,n2',
    'nats://n1:99999',
  ])('refuses %s as a setting (INVALID_SETTING)', (value) => {
    const error = (() => {
      try {
        checkSettings({ log: value });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).code).toBe('INVALID_SETTING');
  });

  it('refuses 2 replicas and a TLS certificate without its key', () => {
    expect(() => checkSettings({ logReplicas: 2 })).toThrow(/1 or 3/);
    expect(() => checkSettings({ logNatsTlsCert: 'c.pem', logNatsTlsKey: '' })).toThrow(/together/);
    expect(() => checkSettings({ log: 'nats://a:4222,b:4222', logReplicas: 3 })).not.toThrow();
  });
});
