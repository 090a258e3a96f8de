import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import { ByteReader } from './primitives/byte-reader.js';
import { ByteWriter } from './primitives/byte-writer.js';
import {
  peekRequestHeader,
  type RequestHeader,
  readRequestHeader,
  readResponseHeader,
  requestHeaderSize,
  requestHeaderVersion,
  responseHeaderSize,
  responseHeaderVersion,
  writeRequestHeader,
  writeResponseHeader,
} from './request-header.js';

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) =>
    Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16),
  );
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const header: RequestHeader = { apiKey: 3, apiVersion: 6, correlationId: 7, clientId: 'kj' };

describe('request header', () => {
  it('v1: api key, version, correlation id, nullable client id', () => {
    const w = new ByteWriter(requestHeaderSize(header, 1));
    writeRequestHeader(w, header, 1);
    expect(toHex(w.finish())).toBe('0003 0006 00000007 0002 6b6a'.replace(/ /g, ''));
    expect(readRequestHeader(new ByteReader(w.finish()), 1)).toEqual(header);
  });

  it('v1 with a null client id', () => {
    const r = new ByteReader(hex('0012 0000 00000001 ffff'));
    expect(readRequestHeader(r, 1)).toEqual({ apiKey: 18, apiVersion: 0, correlationId: 1, clientId: null });
    expect(r.remaining).toBe(0);
  });

  it('v2 adds tagged fields; the client id keeps its int16 length', () => {
    const w = new ByteWriter(requestHeaderSize(header, 2));
    writeRequestHeader(w, header, 2);
    expect(toHex(w.finish())).toBe('0003000600000007 00026b6a 00'.replace(/ /g, ''));
    // librdkafka's ApiVersions v3 header, with an unknown tagged field to skip.
    const r = new ByteReader(hex('0012 0003 00000001 0007 72646b61666b61 01 00 01 ff'));
    expect(readRequestHeader(r, 2)).toEqual({
      apiKey: 18,
      apiVersion: 3,
      correlationId: 1,
      clientId: 'rdkafka',
    });
    expect(r.remaining).toBe(0);
  });

  it('peeks the first 8 bytes of any request, known or not', () => {
    expect(peekRequestHeader(hex('03e7 7fff 12345678'))).toEqual({
      apiKey: 999,
      apiVersion: 32767,
      correlationId: 0x12345678,
    });
  });

  it('refuses a payload too short for a header', () => {
    try {
      peekRequestHeader(hex('0003 0006 0000'));
      expect.unreachable();
    } catch (err) {
      expect(isTributaryError(err, 'MALFORMED_DATA')).toBe(true);
    }
  });

  it('uses header v2 from each API first flexible version', () => {
    expect(requestHeaderVersion(18, 2)).toBe(1);
    expect(requestHeaderVersion(18, 3)).toBe(2);
    expect(requestHeaderVersion(3, 8)).toBe(1);
    expect(requestHeaderVersion(3, 9)).toBe(2);
    expect(requestHeaderVersion(1, 11)).toBe(1);
    expect(requestHeaderVersion(1, 12)).toBe(2);
    expect(requestHeaderVersion(22, 2)).toBe(2);
    expect(requestHeaderVersion(9999, 50)).toBe(1);
  });
});

describe('response header', () => {
  it('v0 is the correlation id, v1 adds tagged fields', () => {
    const w = new ByteWriter(responseHeaderSize(0) + responseHeaderSize(1));
    writeResponseHeader(w, 5, 0);
    writeResponseHeader(w, 6, 1);
    expect(toHex(w.finish())).toBe('00000005' + '0000000600');
    const r = new ByteReader(w.finish());
    expect(readResponseHeader(r, 0)).toBe(5);
    expect(readResponseHeader(r, 1)).toBe(6);
  });

  it('ApiVersions answers with header v0 even in flexible versions', () => {
    expect(responseHeaderVersion(18, 3)).toBe(0);
    expect(responseHeaderVersion(3, 9)).toBe(1);
    expect(responseHeaderVersion(3, 6)).toBe(0);
  });
});
