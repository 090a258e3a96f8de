import { describe, expect, it } from 'vitest';
import { API_KEY_LENGTH_MAX, apiKeyHash, findApiKey, generateApiKey, looksLikeApiKey } from './api-keys.js';

describe('API keys', () => {
  it('are trb_ and 32 random bytes in base64url, different every time', () => {
    const keys = new Set(Array.from({ length: 100 }, () => generateApiKey()));
    expect(keys.size).toBe(100);
    for (const key of keys) {
      expect(key).toMatch(/^trb_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(key.slice(4), 'base64url').length).toBe(32);
      expect(looksLikeApiKey(key)).toBe(true);
    }
    expect(looksLikeApiKey('eyJhbGciOiJIUzI1NiJ9.e30.x')).toBe(false);
  });

  it('are found by their SHA-256 among many, and nothing else is', () => {
    const keys = Array.from({ length: 20 }, () => generateApiKey());
    const entries = keys.map((key, i) => ({ principal: `p${i}`, id: `k${i}`, sha256: apiKeyHash(key) }));
    expect(apiKeyHash('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    keys.forEach((key, i) => {
      expect(findApiKey(entries, key)?.id).toBe(`k${i}`);
    });
    const key = keys[3] as string;
    for (const wrong of [
      '',
      key.slice(0, -1),
      `${key}x`,
      key.toUpperCase(),
      entries[3]?.sha256 ?? '',
      'x'.repeat(API_KEY_LENGTH_MAX + 1),
    ]) {
      expect(findApiKey(entries, wrong)).toBeUndefined();
    }
    expect(findApiKey([], key)).toBeUndefined();
  });
});
