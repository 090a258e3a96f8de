import { headers as natsHeaders } from 'nats';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import { type Command, commandMessage, decodeCommands, encodeCommandParts, framedSize } from './command.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('JetStream commands', () => {
  const commands: Command[] = [
    {
      op: 'append',
      now: 1000,
      records: [{ key: enc('k'), value: enc('v'), headers: [{ key: 'h', value: enc('x') }], timestamp: 999 }],
      producer: { producerId: 7, producerEpoch: 1, baseSequence: 5 },
      transactional: true,
      expectedLastOffset: -1,
    },
    { op: 'marker', now: 1001, marker: { producerId: 7, producerEpoch: 1, commit: true } },
    { op: 'delete-records', now: 1002, beforeOffset: 3 },
    { op: 'retention', now: 1003 },
    { op: 'append', now: 1004, records: [{ key: null, value: null, timestamp: 1004 }], transactional: false },
  ];

  it('a multi message decodes to the same commands, in order', () => {
    const parts = commands.map(encodeCommandParts);
    const message = commandMessage(parts);
    expect(message.headers.get('Tributary-Op')).toBe('multi');
    expect(message.payload.byteLength).toBe(parts.reduce((sum, p) => sum + framedSize(p), 0));
    const decoded = decodeCommands(message.headers, message.payload);
    expect(decoded.map((c) => c.op)).toEqual(commands.map((c) => c.op));
    const first = decoded[0] as Extract<Command, { op: 'append' }>;
    expect(first.expectedLastOffset).toBe(-1);
    expect(first.producer).toEqual({ producerId: 7, producerEpoch: 1, baseSequence: 5 });
    expect(first.transactional).toBe(true);
    expect(new TextDecoder().decode(first.records[0]!.value!)).toBe('v');
    expect(decoded[2]).toEqual(commands[2]);
    const last = decoded[4] as Extract<Command, { op: 'append' }>;
    expect(last.expectedLastOffset).toBeUndefined();
    expect(last.records[0]!.value).toBeNull();
  });

  it('one command is a plain message, as stored before multi messages existed', () => {
    const message = commandMessage([encodeCommandParts(commands[2]!)]);
    expect(message.headers.get('Tributary-Op')).toBe('delete-records');
    expect(decodeCommands(message.headers, message.payload)).toEqual([commands[2]]);
  });

  it('a truncated or empty multi message is CORRUPT_LOG', () => {
    const message = commandMessage(commands.map(encodeCommandParts));
    const check = (payload: Uint8Array): void => {
      expect(() => decodeCommands(message.headers, payload)).toThrow(TributaryError);
      try {
        decodeCommands(message.headers, payload);
      } catch (error) {
        expect((error as TributaryError).code).toBe('CORRUPT_LOG');
      }
    };
    check(message.payload.subarray(0, message.payload.byteLength - 1));
    check(message.payload.subarray(0, 6));
    const h = natsHeaders();
    h.set('Tributary-Op', 'multi');
    h.set('Tributary-Time', '1');
    expect(() => decodeCommands(h, new Uint8Array(0))).toThrow(/empty multi/);
  });
});
