import { describe, expect, it } from 'vitest';
import { authConfigured, checkBind, isLoopbackAddress, listensOnLoopbackOnly } from './bind.js';

describe('loopback addresses', () => {
  it('knows 127/8, ::1 and IPv4-mapped 127/8, and nothing else', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect(isLoopbackAddress(address), address).toBe(true);
    }
    for (const address of [
      '0.0.0.0',
      '::',
      '192.168.1.10',
      '10.0.0.1',
      '::ffff:10.0.0.1',
      'localhost',
      '128.0.0.1',
      '',
    ]) {
      expect(isLoopbackAddress(address), address).toBe(false);
    }
  });

  it('takes localhost and names that resolve only to loopback as loopback', async () => {
    expect(await listensOnLoopbackOnly('localhost')).toBe(true);
    expect(await listensOnLoopbackOnly('127.0.0.1')).toBe(true);
    expect(await listensOnLoopbackOnly('::1')).toBe(true);
    expect(await listensOnLoopbackOnly('0.0.0.0')).toBe(false);
    expect(await listensOnLoopbackOnly('::')).toBe(false);
    expect(await listensOnLoopbackOnly('no-such-host.invalid')).toBe(false);
  });
});

describe('the safe default bind', () => {
  it('refuses a non-loopback host without authentication, naming host and the ways out', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
      await expect(checkBind({ host, insecure: false, authConfigured: false })).rejects.toMatchObject({
        code: 'INVALID_SETTING',
        details: { setting: 'host' },
        message: expect.stringMatching(/not a loopback address.*--auth-file.*127\.0\.0\.1.*--insecure/),
      });
    }
  });

  it('allows it with insecure, with a warning, and with authentication, without', async () => {
    const insecure = await checkBind({ host: '0.0.0.0', insecure: true, authConfigured: false });
    expect(insecure).toMatchObject({
      loopback: false,
      warning: expect.stringMatching(/^INSECURE: .*0\.0\.0\.0/),
    });
    expect(await checkBind({ host: '0.0.0.0', insecure: false, authConfigured: true })).toEqual({
      loopback: false,
    });
    expect(await checkBind({ host: '127.0.0.1', insecure: false, authConfigured: false })).toEqual({
      loopback: true,
    });
    expect(await checkBind({ host: '127.0.0.1', insecure: true, authConfigured: false })).toEqual({
      loopback: true,
    });
  });

  it('takes authentication as configured only with an auth file path', () => {
    expect(authConfigured({})).toBe(false);
    expect(authConfigured({ authFile: '' })).toBe(false);
    expect(authConfigured({ authFile: 'auth.json' })).toBe(true);
  });
});
