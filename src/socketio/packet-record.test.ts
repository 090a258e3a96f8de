import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BROADCAST,
  broadcastReaches,
  decodeClusterMessage,
  decodeValue,
  encodeClusterMessage,
  encodeValue,
  offsetId,
  parseOffsetId,
  SIO_HEADERS,
} from './packet-record.js';

const json = fc.jsonValue();
const bytes = fc.uint8Array({ maxLength: 64 });

describe('packet-record', () => {
  it('a broadcast round-trips with its rooms, flags and binary arguments', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.array(fc.oneof(json, bytes), { maxLength: 5 }),
        fc.array(fc.string(), { maxLength: 3 }),
        fc.array(fc.string(), { maxLength: 3 }),
        (event, args, rooms, except) => {
          const data = [event, ...args];
          const message = {
            type: BROADCAST,
            uid: 'u1',
            nsp: '/chat',
            data: {
              packet: { type: 2, data, nsp: '/chat' },
              opts: { rooms, except, flags: { volatile: true } },
            },
          };
          const record = encodeClusterMessage(message);
          expect(record.key).toBe('/chat');
          const decoded = decodeClusterMessage(record) as typeof message;
          expect(decoded.data.opts).toEqual(message.data.opts);
          expect(decoded.data.packet.nsp).toBe('/chat');
          // JSON turns -0 into 0, as Socket.IO's own encoding does.
          const normalize = (v: unknown) => (v instanceof Uint8Array ? v : JSON.parse(JSON.stringify(v)));
          expect(decoded.data.packet.data).toEqual(data.map(normalize));
        },
      ),
    );
  });

  it('the value of a broadcast is the readable JSON of [event, ...args], binaries as placeholders', () => {
    const record = encodeClusterMessage({
      type: BROADCAST,
      uid: 'u1',
      nsp: '/',
      data: {
        packet: { type: 2, data: ['data-update', { n: 1 }, Buffer.from([7, 8])], nsp: '/' },
        opts: { rooms: [], except: ['s1'], flags: {} },
      },
    });
    expect(new TextDecoder().decode(record.value)).toBe(
      '["data-update",{"n":1},{"_placeholder":true,"num":0}]',
    );
    const attachment = record.headers.find((h) => h.key === SIO_HEADERS.attachment);
    expect([...attachment!.value]).toEqual([7, 8]);
  });

  it('other messages round-trip, ArrayBuffers and typed arrays become bytes', () => {
    const message = {
      type: 9,
      uid: 'u2',
      nsp: '/',
      data: { requestId: 'r', packet: ['ping', new Uint16Array([1, 2]).buffer] },
    };
    const decoded = decodeClusterMessage(encodeClusterMessage(message));
    expect(decoded).toEqual({
      type: 9,
      uid: 'u2',
      nsp: '/',
      data: { requestId: 'r', packet: ['ping', new Uint8Array([1, 0, 2, 0])] },
    });
    expect(decodeClusterMessage(encodeClusterMessage({ type: 2, uid: 'u3', nsp: '/' }))).toEqual({
      type: 2,
      uid: 'u3',
      nsp: '/',
      data: null,
    });
  });

  it('records that are not Socket.IO messages decode to null, never throw', () => {
    const enc = new TextEncoder();
    fc.assert(
      fc.property(
        fc.uint8Array(),
        fc.array(fc.tuple(fc.constantFrom(...Object.values(SIO_HEADERS), 'x'), fc.uint8Array())),
        (value, headers) => {
          const result = decodeClusterMessage({
            value,
            headers: headers.map(([key, v]) => ({ key, value: v })),
          });
          expect(result === null || typeof result === 'object').toBe(true);
        },
      ),
    );
    expect(decodeClusterMessage({ value: enc.encode('{}'), headers: [] })).toBeNull();
    const broadcastNotArray = {
      value: enc.encode('{"a":1}'),
      headers: [
        { key: SIO_HEADERS.type, value: enc.encode('3') },
        { key: SIO_HEADERS.nsp, value: enc.encode('/') },
        { key: SIO_HEADERS.uid, value: enc.encode('u') },
      ],
    };
    expect(decodeClusterMessage(broadcastNotArray)).toBeNull();
    expect(() => decodeValue('[{"_placeholder":true,"num":3}]', [])).toThrow(SyntaxError);
  });

  it('of a header given twice the last counts; any sio. header not UTF-8 makes the record not one', () => {
    const enc = new TextEncoder();
    const base = [
      { key: SIO_HEADERS.type, value: enc.encode('3') },
      { key: SIO_HEADERS.nsp, value: enc.encode('/') },
      { key: SIO_HEADERS.uid, value: enc.encode('u') },
      { key: SIO_HEADERS.rooms, value: enc.encode('["a"]') },
      { key: SIO_HEADERS.rooms, value: enc.encode('["b"]') },
      { key: SIO_HEADERS.except, value: enc.encode('[]') },
      { key: SIO_HEADERS.flags, value: enc.encode('{}') },
    ];
    const value = enc.encode('["msg",1]');
    const first = decodeClusterMessage({ value, headers: base });
    const optsOf = (message: ReturnType<typeof decodeClusterMessage>) =>
      (message!.data as { opts: { rooms: string[]; except: string[] } }).opts;
    const opts = optsOf(first);
    expect(opts.rooms).toEqual(['b']);
    // Each decoding has its own arrays: the adapter adds restored sockets to `except`.
    opts.except.push('restored');
    const second = decodeClusterMessage({ value, headers: base });
    expect(optsOf(second).except).toEqual([]);
    const notUtf8 = [...base, { key: SIO_HEADERS.to, value: new Uint8Array([0xff, 0xfe]) }];
    expect(decodeClusterMessage({ value, headers: notUtf8 })).toBeNull();
  });

  it('headers and values in any script round-trip, as the encoder and decoder make them', () => {
    const text = fc.string({ unit: 'binary', maxLength: 80 });
    fc.assert(
      fc.property(text, fc.array(text, { maxLength: 3 }), text, (event, rooms, arg) => {
        const message = {
          type: BROADCAST,
          uid: 'u1',
          nsp: '/',
          data: { packet: { type: 2, data: [event, arg], nsp: '/' }, opts: { rooms, except: [], flags: {} } },
        };
        const record = encodeClusterMessage(message);
        const roomsHeader = record.headers.find((h) => h.key === SIO_HEADERS.rooms)!;
        expect(roomsHeader.value).toEqual(new TextEncoder().encode(JSON.stringify(rooms)));
        expect(record.value).toEqual(new TextEncoder().encode(JSON.stringify([event, arg])));
        const decoded = decodeClusterMessage(record) as typeof message;
        expect(decoded.data.opts.rooms).toEqual(JSON.parse(JSON.stringify(rooms)));
        expect(decoded.data.packet.data).toEqual(JSON.parse(JSON.stringify([event, arg])));
      }),
    );
  });

  it('values that may hold binaries take the full encoding; placeholders are found however spelt', () => {
    const date = new Date(0);
    expect(encodeValue(['e', { at: date }]).json).toBe(JSON.stringify(['e', { at: date }]));
    expect(encodeValue(['e', { nested: [[new Uint8Array([1])]] }])).toEqual({
      json: '["e",{"nested":[[{"_placeholder":true,"num":0}]]}]',
      attachments: [new Uint8Array([1])],
    });
    const escaped = '["e",{"\\u005fplaceholder":true,"num":0}]';
    expect(decodeValue(escaped, [new Uint8Array([9])])).toEqual(['e', new Uint8Array([9])]);
    expect(decodeValue('["_placeholder",{"n":1}]', [])).toEqual(['_placeholder', { n: 1 }]);
    const invalidUtf8 = {
      value: new TextEncoder().encode('["e"]'),
      headers: [
        { key: SIO_HEADERS.type, value: new Uint8Array([0x33]) },
        { key: SIO_HEADERS.nsp, value: new Uint8Array([0x2f, 0xc3]) },
        { key: SIO_HEADERS.uid, value: new Uint8Array([0x75]) },
      ],
    };
    expect(decodeClusterMessage(invalidUtf8)).toBeNull();
  });

  it('offset ids round-trip; anything else a client sends is refused', () => {
    fc.assert(
      fc.property(fc.nat(65_535), fc.maxSafeNat(), (partition, offset) => {
        expect(parseOffsetId(offsetId(partition, offset))).toEqual({ partition, offset });
      }),
    );
    for (const bad of ['', '1', '1-', '-1', 'a-1', '1-1-1', '0-99999999999999999', '1-2 '])
      expect(parseOffsetId(bad)).toBeNull();
    expect(encodeValue(undefined).json).toBe('null');
  });

  it('reach follows Socket.IO: rooms include, except excludes (the socket id is a room)', () => {
    expect(broadcastReaches({ rooms: [], except: [], flags: {} }, ['s1'])).toBe(true);
    expect(broadcastReaches({ rooms: ['r'], except: [], flags: {} }, ['s1'])).toBe(false);
    expect(broadcastReaches({ rooms: ['r'], except: [], flags: {} }, ['s1', 'r'])).toBe(true);
    expect(broadcastReaches({ rooms: [], except: ['s1'], flags: {} }, ['s1', 'r'])).toBe(false);
    expect(broadcastReaches({ rooms: ['r'], except: ['q'], flags: {} }, ['s1', 'r', 'q'])).toBe(false);
  });
});
