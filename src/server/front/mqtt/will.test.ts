import type { IConnectPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { MqttTopicError } from './topics.js';
import { publishesWill, willOfConnect } from './will.js';

const connect = (will?: IConnectPacket['will']): IConnectPacket => ({
  cmd: 'connect',
  clientId: 'c',
  protocolVersion: 5,
  ...(will === undefined ? {} : { will }),
});

describe('will of a CONNECT', () => {
  it('is null without a will', () => {
    expect(willOfConnect(connect())).toBeNull();
  });

  it('becomes the PUBLISH it will be, the delay apart', () => {
    const will = willOfConnect(
      connect({
        topic: 'devices/d1/status',
        payload: Buffer.from('offline'),
        qos: 1,
        retain: true,
        properties: {
          willDelayInterval: 30,
          contentType: 'text/plain',
          messageExpiryInterval: 60,
          userProperties: { site: 'north' },
        },
      }),
    );
    expect(will).toEqual({
      address: { topic: 'devices', key: 'devices/d1/status' },
      qos: 1,
      retain: true,
      delayMs: 30_000,
      packet: {
        cmd: 'publish',
        topic: 'devices/d1/status',
        payload: Buffer.from('offline'),
        qos: 1,
        retain: true,
        dup: false,
        properties: {
          contentType: 'text/plain',
          messageExpiryInterval: 60,
          userProperties: { site: 'north' },
        },
      },
    });
  });

  it('defaults to QoS 0, not retained, no delay, no properties (MQTT 3.1.1)', () => {
    const will = willOfConnect(connect({ topic: 't', payload: '' }));
    expect(will).toMatchObject({ qos: 0, retain: false, delayMs: 0 });
    expect(will?.packet.properties).toBeUndefined();
  });

  it.each(['$SYS/x', 'a/+', '//x', '__mqtt.retained', ''])('refuses the will topic %j', (topic) => {
    expect(() => willOfConnect(connect({ topic, payload: 'x' }))).toThrow(MqttTopicError);
  });
});

describe('which ends publish the will', () => {
  it('every end but a normal DISCONNECT', () => {
    expect(publishesWill(null)).toBe(true); // socket closed, keep-alive, protocol error, takeover, shutdown
    expect(publishesWill(0x04)).toBe(true);
    expect(publishesWill(0x00)).toBe(false);
    expect(publishesWill(0x80)).toBe(true); // only 0x00 deletes the will (5.0 §3.1.2.5)
  });
});
