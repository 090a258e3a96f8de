import { describe, expect, it } from 'vitest';
import { encodeFrame } from './frames.js';
import type { DeliveryFrame, WireFormat } from './types.js';
import { encodeMsgpackJoinedParts, encodeWire, encodeWireJoined, SharedFields } from './wire.js';

const FORMATS: readonly WireFormat[] = ['msgpack', 'json'];
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
/** Hex of encoded bytes (Buffer and Uint8Array compare equal), or the JSON text as is. */
const hex = (data: Uint8Array | string): string =>
  typeof data === 'string'
    ? data
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');

describe('encodeWireJoined', () => {
  const records = [
    { offset: 0, timestamp: 1_700_000_000_000, key: null, value: bytes('a'), headers: [] },
    {
      offset: 2 ** 40,
      timestamp: 1_700_000_000_001,
      key: bytes('k'),
      value: null,
      headers: [{ key: 'h', value: bytes('v') }],
    },
  ];
  const shared = new SharedFields({ topic: 'orders', partition: 3, records, highWatermark: 2 ** 40 + 1 });

  for (const format of FORMATS) {
    it(`${format}: gives the same bytes as encoding the whole frame, for every subscription`, () => {
      for (const sub of [1, 200, 70_000]) {
        const frame: DeliveryFrame = {
          type: 'delivery',
          sub,
          topic: 'orders',
          partition: 3,
          records,
          highWatermark: 2 ** 40 + 1,
        };
        const joined = encodeWireJoined({ type: 'delivery', sub }, shared, format);
        expect(hex(joined)).toBe(hex(encodeFrame(frame, format)));
      }
    });

    it(`${format}: handles maps of 16 keys and more, and empty sides`, () => {
      const head = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`h${i}`, i]));
      const rest = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`r${i}`, `v${i}`]));
      expect(hex(encodeWireJoined(head, new SharedFields(rest), format))).toBe(
        hex(encodeWire({ ...head, ...rest }, format)),
      );
      expect(hex(encodeWireJoined({}, new SharedFields(rest), format))).toBe(hex(encodeWire(rest, format)));
      expect(hex(encodeWireJoined(head, new SharedFields({}), format))).toBe(hex(encodeWire(head, format)));
    });
  }

  it('msgpack parts: the head then the shared bytes (the same array every time) make the frame', () => {
    const heads = [{ type: 'delivery', sub: 1 }, { type: 'delivery', sub: 70_000 }, {}];
    for (const head of heads) {
      const [own, rest] = encodeMsgpackJoinedParts(head, shared);
      expect(rest).toBe(shared.msgpackPairs().pairs);
      expect(hex(own) + hex(rest)).toBe(hex(encodeWireJoined(head, shared, 'msgpack')));
    }
    const wide = new SharedFields(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`r${i}`, i])));
    const [own, rest] = encodeMsgpackJoinedParts({ type: 'delivery', sub: 2 }, wide);
    expect(hex(own) + hex(rest)).toBe(hex(encodeWireJoined({ type: 'delivery', sub: 2 }, wide, 'msgpack')));
  });
});
