import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { connectProtocol, MqttDecoder, MqttPacketError } from './codec.js';

const arbPacket: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({
    cmd: fc.constant('publish' as const),
    topic: fc.stringMatching(/^[a-z]{1,8}(\/[a-z0-9]{1,8}){0,3}$/),
    payload: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    qos: fc.constant(1 as const),
    dup: fc.boolean(),
    retain: fc.boolean(),
    messageId: fc.integer({ min: 1, max: 65535 }),
  }),
  fc.constant({ cmd: 'pingreq' as const }),
  fc.integer({ min: 1, max: 65535 }).map((messageId) => ({ cmd: 'puback' as const, messageId })),
  fc.array(fc.stringMatching(/^[a-z+#/]{1,12}$/), { minLength: 1, maxLength: 3 }).map((topics) => ({
    cmd: 'subscribe' as const,
    messageId: 9,
    subscriptions: topics.map((topic) => ({ topic, qos: 1 as const })),
  })),
);

function strip(packet: Packet): unknown {
  return JSON.parse(JSON.stringify({ ...packet, length: undefined }));
}

describe('MqttDecoder', () => {
  it('decodes the same packets whatever the chunk split (MQTT 3.1.1 and 5)', () => {
    fc.assert(
      fc.property(
        fc.array(arbPacket, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        fc.constantFrom(4 as const, 5 as const),
        (packets, cuts, version) => {
          const bytes = Buffer.concat(
            packets.map((p) => mqttPacket.generate(p, { protocolVersion: version })),
          );
          const whole = new MqttDecoder(1 << 20);
          whole.setVersion(version);
          const expected = whole.push(bytes).map(strip);
          const split = new MqttDecoder(1 << 20);
          split.setVersion(version);
          const got: unknown[] = [];
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const size = cuts[i % cuts.length] as number;
            got.push(...split.push(bytes.subarray(at, at + size)).map(strip));
            at += size;
          }
          expect(got).toEqual(expected);
          expect(expected).toHaveLength(packets.length);
          expect(split.bufferedBytes).toBe(0);
        },
      ),
    );
  });

  it('refuses a packet over the limit from its fixed header, before its body arrives', () => {
    const decoder = new MqttDecoder(1024);
    // PUBLISH with a remaining length of 2000: only the two header bytes are given.
    expect(() => decoder.push(Buffer.from([0x30, 0xd0, 0x0f]))).toThrow(MqttPacketError);
    try {
      new MqttDecoder(1024).push(Buffer.from([0x30, 0xd0, 0x0f]));
    } catch (error) {
      expect((error as MqttPacketError).reasonCode).toBe(0x95);
    }
  });

  it('refuses a five-byte remaining length and bad reserved flags as malformed', () => {
    for (const bytes of [
      [0x30, 0xff, 0xff, 0xff, 0xff, 0x01],
      [0x60, 0x02, 0x00, 0x01], // PUBREL must have flags 0010
      [0xc1, 0x00], // PINGREQ with a flag
    ]) {
      let code: number | undefined;
      try {
        const decoder = new MqttDecoder(1 << 20);
        decoder.push(Buffer.from(bytes));
      } catch (error) {
        code = (error as MqttPacketError).reasonCode;
      }
      expect(code, JSON.stringify(bytes)).toBe(0x81);
    }
  });

  it('never throws anything but MqttPacketError, whatever the bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.constantFrom(4 as const, 5 as const),
        (bytes, version) => {
          const decoder = new MqttDecoder(4096);
          decoder.setVersion(version);
          try {
            decoder.push(Buffer.from(bytes));
          } catch (error) {
            expect(error).toBeInstanceOf(MqttPacketError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('connectProtocol', () => {
  it('reads the protocol name and level of a CONNECT', () => {
    const v5 = mqttPacket.generate({
      cmd: 'connect',
      protocolVersion: 5,
      clientId: 'c',
      clean: true,
      keepalive: 0,
    });
    expect(connectProtocol(v5)).toEqual({ name: 'MQTT', level: 5 });
    const v31 = mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQIsdp',
      protocolVersion: 3,
      clientId: 'c',
      clean: true,
      keepalive: 0,
    });
    expect(connectProtocol(v31)).toEqual({ name: 'MQIsdp', level: 3 });
    expect(connectProtocol(Buffer.from([0xc0, 0x00]))).toBeNull();
  });
});
