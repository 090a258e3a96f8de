import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../../errors.js';
import { checkMediaType } from './media-type.js';

function refusal(method: string, headers: Record<string, string>): string | undefined {
  try {
    checkMediaType(method, headers);
    return undefined;
  } catch (error) {
    if (isTributaryError(error, 'UNSUPPORTED_MEDIA_TYPE')) return error.message;
    throw error;
  }
}

describe('content types that may change state', () => {
  it('accepts application/json, in any case, with parameters', () => {
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON',
      ' application/json ;x=1',
    ]) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        expect(refusal(method, { 'content-type': type }), `${method} ${type}`).toBeUndefined();
      }
    }
  });

  it('refuses what a page may send cross-site without asking, and no content type at all', () => {
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'application/json-patch+json',
      'text/json',
      '',
    ]) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        expect(refusal(method, { 'content-type': type }), `${method} ${type}`).toMatch(
          new RegExp(`^A ${method} request needs Content-Type: application/json`),
        );
      }
    }
    expect(refusal('POST', {})).toMatch(/not none$/);
    expect(refusal('POST', { 'content-length': '0' })).toMatch(/not none$/);
  });

  it('lets reads through, and a DELETE without a body', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS'])
      expect(refusal(method, { 'content-type': 'text/plain' })).toBeUndefined();
    expect(refusal('DELETE', {})).toBeUndefined();
    expect(refusal('DELETE', { 'content-length': '0' })).toBeUndefined();
    expect(refusal('DELETE', { 'content-length': '5' })).toMatch(/not none/);
    expect(refusal('DELETE', { 'transfer-encoding': 'chunked' })).toMatch(/not none/);
  });
});
