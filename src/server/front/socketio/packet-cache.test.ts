import { Encoder } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import type { LogRecord } from '../../../broker/types.js';
import { PacketCache, type PacketEncoder, RECENT_PLANS_MAX, wsFrameBuilder } from './packet-cache.js';
import { eventRecord } from './records.js';

function logRecord(offset: number, event: string, args: unknown[], sid = 'sender'): LogRecord {
  const produced = eventRecord('/', event, args, { sid });
  return Object.freeze({
    offset,
    timestamp: 0,
    key: produced.key ?? null,
    value: produced.value ?? null,
    headers: produced.headers ?? [],
  });
}

function countingEncoder(): PacketEncoder & { calls: number } {
  const encoder = new Encoder();
  const counting = {
    calls: 0,
    encode(packet: { type: number; nsp: string; data: unknown[] }): unknown[] {
      counting.calls++;
      return encoder.encode(packet);
    },
  };
  return counting;
}

describe('PacketCache', () => {
  it('encodes a record once, whatever the number of sockets asking, with its offset id last', () => {
    const encoder = countingEncoder();
    const cache = new PacketCache(encoder, wsFrameBuilder(ws));
    const record = logRecord(41, 'data-update', [{ x: 1 }]);
    const first = cache.plan(record, 0);
    for (let socket = 0; socket < 1000; socket++) expect(cache.plan(record, 0)).toBe(first);
    expect(encoder.calls).toBe(1);
    expect(first?.kind).toBe('event');
    if (first?.kind !== 'event') return;
    expect(first.opts.except).toEqual(['sender']);
    expect(first.encoded).toEqual(['2["data-update",{"x":1},"0-41"]']);
    // The WebSocket frame: a final unmasked text frame of engine.io's `4` + the packet.
    const frame = Buffer.concat(first.writeOptions.wsPreEncodedFrame ?? []);
    const text = '42["data-update",{"x":1},"0-41"]';
    expect(frame[0]).toBe(0x81);
    expect(frame[1]).toBe(text.length);
    expect(frame.subarray(2).toString()).toBe(text);
    expect(cache.plan(logRecord(42, 'data-update', [{ x: 2 }]), 0)).not.toBe(first);
    expect(encoder.calls).toBe(2);
  });

  it('reuses a plan for another read of the same record, not for another record at that offset', () => {
    const encoder = countingEncoder();
    const cache = new PacketCache(encoder);
    const record = logRecord(7, 'data-update', [{ x: 1 }]);
    const planned = cache.plan(record, 0);
    // A socket behind the tail reads its own copy from the log: same content, another object.
    expect(cache.plan({ ...record, headers: record.headers.map((h) => ({ ...h })) }, 0)).toBe(planned);
    expect(encoder.calls).toBe(1);
    // The topic deleted and recreated: offset 7 is another record (another sender here).
    const other = cache.plan(logRecord(7, 'data-update', [{ x: 1 }], 'someone-else'), 0);
    expect(other).not.toBe(planned);
    expect(other?.kind === 'event' ? other.opts.except : []).toEqual(['someone-else']);
    expect(cache.plan(logRecord(7, 'data-update', [{ x: 2 }]), 0)).not.toBe(other);
    expect(encoder.calls).toBe(3);
  });

  it('keeps the plans of recent offsets when a socket far behind asks for old ones', () => {
    const encoder = countingEncoder();
    const cache = new PacketCache(encoder);
    const recent = logRecord(RECENT_PLANS_MAX + 5, 'e', []);
    const planned = cache.plan(recent, 0);
    cache.plan(logRecord(5, 'e', []), 0); // same slot, older offset
    expect(cache.plan(recent, 0)).toBe(planned);
    expect(encoder.calls).toBe(2);
  });

  it('gives binary packets no prebuilt frame (engine.io frames each part)', () => {
    const cache = new PacketCache(new Encoder(), wsFrameBuilder(ws));
    const planned = cache.plan(logRecord(0, 'blob', [Buffer.from([1, 2, 3])]), 3);
    expect(planned?.kind).toBe('event');
    if (planned?.kind !== 'event') return;
    expect(planned.encoded).toHaveLength(2);
    expect(planned.encoded?.[0]).toBe('51-["blob",{"_placeholder":true,"num":0},"3-0"]');
    expect(planned.writeOptions.wsPreEncodedFrame).toBeUndefined();
  });

  it('plans nothing for reserved events, and no packet for one the encoder refuses', () => {
    const cache = new PacketCache({
      encode: () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
    });
    expect(cache.plan(logRecord(0, 'disconnect', []), 0)).toBeUndefined();
    const refused = cache.plan(logRecord(1, 'deep', [[[]]]), 0);
    expect(refused?.kind).toBe('event');
    expect(refused?.kind === 'event' ? refused.encoded : 'not an event').toBeUndefined();
  });
});
