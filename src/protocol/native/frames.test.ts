import { describe, expect, it } from 'vitest';
import { isTributaryError, TributaryError } from '../../errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { decodeClientFrame, decodeServerFrame, encodeFrame, fromWireError, toWireError } from './frames.js';
import { decodeResult, REQUEST_TYPES } from './requests.js';
import {
  plain,
  SAMPLE_CLIENT_FRAMES,
  SAMPLE_REQUESTS,
  SAMPLE_RESULTS,
  SAMPLE_SERVER_FRAMES,
} from './testing/samples.js';
import type { RequestType, WireFormat } from './types.js';
import { wireByteLength } from './wire.js';

const FORMATS: readonly WireFormat[] = ['msgpack', 'json'];
const hex = (bytes: Uint8Array | string): string =>
  typeof bytes === 'string' ? bytes : [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (text: string): Uint8Array =>
  new Uint8Array((text.match(/../g) ?? []).map((b) => Number.parseInt(b, 16)));

function protocolError(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (error) {
    expect(isTributaryError(error, 'PROTOCOL_ERROR')).toBe(true);
    return error as TributaryError;
  }
  throw new Error('expected a PROTOCOL_ERROR');
}

describe('native protocol frames', () => {
  it('has a sample of every request type', () => {
    expect(Object.keys(SAMPLE_REQUESTS).sort()).toEqual([...REQUEST_TYPES].sort());
  });

  for (const format of FORMATS) {
    it(`round-trips every client frame (${format})`, () => {
      for (const frame of SAMPLE_CLIENT_FRAMES) {
        const decoded = decodeClientFrame(encodeFrame(frame, format));
        expect(decoded.format).toBe(format);
        expect(plain(decoded.frame)).toEqual(plain(frame));
      }
    });

    it(`round-trips every server frame (${format})`, () => {
      for (const frame of SAMPLE_SERVER_FRAMES) {
        expect(plain(decodeServerFrame(encodeFrame(frame, format)).frame)).toEqual(plain(frame));
      }
    });

    it(`round-trips every result (${format})`, () => {
      for (const type of REQUEST_TYPES) {
        const data = encodeFrame({ type: 'response', id: 1, ok: SAMPLE_RESULTS[type] }, format);
        const { frame } = decodeServerFrame(data);
        if (frame.type !== 'response' || !('ok' in frame)) throw new Error('not an ok response');
        expect(plain(decodeResult(type as RequestType, frame.ok, format))).toEqual(
          plain(SAMPLE_RESULTS[type]),
        );
      }
    });
  }

  it('encodes plain MessagePack: string-keyed maps, bin for bytes, int64 for large integers', () => {
    const data = encodeFrame({ type: 'ping', nonce: 1 }, 'msgpack');
    expect(hex(data)).toBe('82a474797065a470696e67a56e6f6e636501');
    const record = encodeFrame({ type: 'credit', id: 2 ** 32 - 1, sub: 1, n: 2 }, 'msgpack');
    // id 0xffffffff fits uint32 (ce); nothing uses float64 or extension types.
    expect(hex(record)).toBe('84a474797065a6637265646974a26964ceffffffffa373756201a16e02');
    const big = encodeFrame({ type: 'offsets', id: 1, topic: 't', partition: 0 }, 'msgpack');
    expect(decodeClientFrame(big).frame).toEqual({ type: 'offsets', id: 1, topic: 't', partition: 0 });
    const ts = encodeFrame({ type: 'pong', nonce: 0 }, 'msgpack');
    expect(hex(ts).includes('cb')).toBe(false);
    const delivery = encodeFrame(SAMPLE_SERVER_FRAMES[3]!, 'msgpack');
    expect(hex(delivery)).toContain('d30000018eafc18435'); // timestamp 1712345678901 as int64
    expect(hex(delivery)).toContain('c4016b'); // key "k" as bin 8
  });

  it('matches the golden frames of docs/protocol.md byte for byte', () => {
    const golden = {
      hello:
        '83 a4 74 79 70 65 a5 68 65 6c 6c 6f a8 70 72 6f 74 6f 63 6f 6c 01 a6 63 6c 69 65 6e 74 a8 64 65 6d 6f 2f 31 2e 30',
      produce:
        '84 a4 74 79 70 65 a7 70 72 6f 64 75 63 65 a2 69 64 07 a5 74 6f 70 69 63 a6 6f 72 64 65 72 73 a7 72 65 63 6f 72 64 73 91 82 a3 6b 65 79 c4 02 6b 31 a5 76 61 6c 75 65 c4 02 68 69',
    };
    const hello = encodeFrame({ type: 'hello', protocol: 1, client: 'demo/1.0' }, 'msgpack');
    expect(hex(hello)).toBe(golden.hello.replaceAll(' ', ''));
    const k1 = new TextEncoder().encode('k1');
    const hi = new TextEncoder().encode('hi');
    const produce = { type: 'produce', id: 7, topic: 'orders', records: [{ key: k1, value: hi }] } as const;
    expect(hex(encodeFrame(produce, 'msgpack'))).toBe(golden.produce.replaceAll(' ', ''));
    expect(plain(decodeClientFrame(fromHex(golden.produce.replaceAll(' ', ''))).frame)).toEqual(
      plain(produce),
    );
  });

  it('does not let one frame change how the next decodes (msgpackr record extension)', () => {
    // d4 72 00: msgpackr's own "record definition" extension, then 0x40 — which must stay the integer 64.
    protocolError(() => decodeClientFrame(fromHex('d4720091a16101')));
    expect(decodeClientFrame(fromHex('82a474797065a470696e67a56e6f6e636540')).frame).toEqual({
      type: 'ping',
      nonce: 64,
    });
  });

  it('writes bytes as base64 in JSON and reads them back', () => {
    const text = encodeFrame(SAMPLE_REQUESTS.appendBatch, 'json') as string;
    expect(JSON.parse(text).records[0].value).toBe('aGVsbG8=');
    const frame = decodeClientFrame(
      '{"type":"produce","id":1,"topic":"t","records":[{"key":null,"value":"aGk="}]}',
    ).frame;
    expect(plain(frame)).toEqual({
      type: 'produce',
      id: 1,
      topic: 't',
      records: [{ key: null, value: new TextEncoder().encode('hi') }],
    });
  });

  it('accepts integers written as float64 or uint64 by other encoders', () => {
    // {"type":"offsets","id":1.0 (float64),"topic":"t","partition":0 (uint64)}
    const data = fromHex(
      '84a474797065a76f666673657473a26964cb3ff0000000000000a5746f706963a174a9706172746974696f6ecf0000000000000000',
    );
    expect(decodeClientFrame(data).frame).toEqual({ type: 'offsets', id: 1, topic: 't', partition: 0 });
  });

  it('names the field and keeps the request id when a field has the wrong type', () => {
    const bad = encodeFrame({ type: 'fetch', id: 9, topic: 't', partition: 'zero' } as never, 'msgpack');
    const error = protocolError(() => decodeClientFrame(bad));
    expect(error.details).toMatchObject({ field: 'partition', requestId: 9, requestType: 'fetch' });
    expect(error.message).toContain('field "partition" must be an integer, got a string');

    const nested = encodeFrame(
      {
        type: 'produce',
        id: 3,
        topic: 't',
        records: [
          { key: null, value: null },
          { key: 'k', value: null },
        ],
      } as never,
      'msgpack',
    );
    expect(protocolError(() => decodeClientFrame(nested)).details).toMatchObject({
      field: 'records[1].key',
      requestId: 3,
    });
    const badBase64 = '{"type":"produce","id":4,"topic":"t","records":[{"key":"a b","value":null}]}';
    expect(protocolError(() => decodeClientFrame(badBase64)).message).toContain('base64');
  });

  it('rejects unknown request types, answering the id when there is one', () => {
    const error = protocolError(() => decodeClientFrame('{"type":"explode","id":77}'));
    expect(error.details).toMatchObject({ requestId: 77, field: 'type' });
    expect(error.message).toContain('unknown request type "explode"');
    expect(protocolError(() => decodeClientFrame('{"type":"explode"}')).details.requestId).toBeUndefined();
  });

  it('rejects frames that are not maps or not decodable', () => {
    for (const data of ['[]', '42', 'nope', '', '{"type":1}', '{}'])
      protocolError(() => decodeClientFrame(data));
    for (const data of [
      '',
      'c1',
      '90',
      'a3616263',
      '82',
      'ddffffffff',
      'd6ff00000001',
      '81a474797065d6ff00000001',
    ]) {
      protocolError(() => decodeClientFrame(fromHex(data)));
    }
    protocolError(() => decodeClientFrame(new Uint8Array(0)));
  });

  it('requires producer fields together and checks start positions', () => {
    const partial = { ...SAMPLE_REQUESTS.appendBatch, producerEpoch: undefined };
    expect(
      protocolError(() => decodeClientFrame(encodeFrame(partial as never, 'msgpack'))).message,
    ).toContain('come together');
    const bad = { ...SAMPLE_REQUESTS.subscribe, from: 'newest' };
    expect(protocolError(() => decodeClientFrame(encodeFrame(bad as never, 'json'))).details.field).toBe(
      'from',
    );
    const both = { ...SAMPLE_REQUESTS.subscribe, from: { offset: 1, timestamp: 2 } };
    protocolError(() => decodeClientFrame(encodeFrame(both as never, 'json')));
    const unknownConfig = { ...SAMPLE_REQUESTS.createTopic, config: { partitions: 1, replicas: 3 } };
    expect(
      protocolError(() => decodeClientFrame(encodeFrame(unknownConfig as never, 'json'))).details.field,
    ).toBe('config.replicas');
  });

  it('reads credentials in hello and authenticate: exactly one form, never echoing the secret', () => {
    const hello = (auth: unknown): string =>
      JSON.stringify({ type: 'hello', protocol: 1, client: 'c', auth });
    for (const auth of [
      {},
      { token: 't', apiKey: 'k' },
      { username: 'alice' },
      { password: 'secret-pw' },
      { username: '', password: 'secret-pw' },
      { token: '' },
      { token: 42 },
      { apiKey: null },
      { token: 'x'.repeat(16 * 1024 + 1) },
      'secret-pw',
      null,
    ]) {
      const error = protocolError(() => decodeClientFrame(hello(auth)));
      expect(error.details.field).toMatch(/^auth/);
      expect(error.message).not.toContain('secret-pw');
    }
    const request = (auth: unknown): string => JSON.stringify({ type: 'authenticate', id: 7, auth });
    const error = protocolError(() => decodeClientFrame(request({ username: 'alice', password: 5 })));
    expect(error.details).toMatchObject({
      field: 'auth.password',
      requestId: 7,
      requestType: 'authenticate',
    });
    expect(protocolError(() => decodeClientFrame('{"type":"authenticate","id":8}')).details.field).toBe(
      'auth',
    );
    // Unknown fields beside the one form are ignored, as everywhere in the protocol.
    expect(decodeClientFrame(request({ token: 't', note: 1 })).frame).toEqual({
      type: 'authenticate',
      id: 7,
      auth: { token: 't' },
    });
  });

  it('carries errors: catalogue codes become TributaryErrors, unknown codes PROTOCOL_ERROR', () => {
    const wire = toWireError(new TributaryError('TOPIC_NOT_FOUND', { topic: 'x' }));
    expect(wire).toEqual({
      code: 'TOPIC_NOT_FOUND',
      message: 'Topic "x" does not exist',
      details: { topic: 'x' },
      retriable: false,
    });
    const back = fromWireError(wire);
    expect(back.code).toBe('TOPIC_NOT_FOUND');
    expect(back.message).toBe(wire.message);
    expect(fromWireError({ ...wire, code: 'FUTURE_THING' }).code).toBe('PROTOCOL_ERROR');
    expect(toWireError(new Error('boom'))).toMatchObject({ code: 'INTERNAL', retriable: true, details: {} });
  });

  it('measures text frames in UTF-8 bytes', () => {
    expect(wireByteLength('aé€😀')).toBe(1 + 2 + 3 + 4);
    expect(wireByteLength(new Uint8Array(7))).toBe(7);
  });
});

describe('base64', () => {
  it('round-trips every length and matches Buffer', () => {
    for (let length = 0; length < 40; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 255);
      const text = encodeBase64(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64'));
      expect(decodeBase64(text)).toEqual(bytes);
    }
  });

  it('rejects non-canonical text', () => {
    for (const text of [
      'a',
      'abc',
      'ab=c',
      '====',
      'ab==ab==',
      'aGk',
      'aGl=',
      'aR==',
      'a b=',
      'aGk-',
      'éééé',
    ]) {
      expect(decodeBase64(text)).toBeNull();
    }
  });
});
