import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TributaryBroker } from '../../../broker/broker.js';
import { eventually } from '../../../broker/testing/helpers.js';
import type { LogRecord, TopicPartition } from '../../../broker/types.js';
import { SharedSubscriptionMember } from './shared-subscription.js';
import { type LogBroker, openLogBroker } from './testing/log-broker.js';
import { parseTopicFilter } from './topics.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SUBSCRIPTION = '$share/workers/plant/+/temp';

interface Received {
  readonly name: string;
  readonly value: string;
  readonly tp: TopicPartition;
  readonly offset: number;
}

/** A member whose client acknowledges at once, or holds acknowledgements while `holding`. */
class TestMember {
  readonly received: Received[] = [];
  holding = false;
  readonly held: (() => void)[] = [];
  member!: SharedSubscriptionMember;

  constructor(readonly name: string) {}

  async join(broker: TributaryBroker): Promise<this> {
    this.member = await SharedSubscriptionMember.join({
      broker,
      subscription: SUBSCRIPTION,
      filter: parseTopicFilter(SUBSCRIPTION),
      topics: ['plant'],
      deliver: (record: LogRecord, mqttTopic: string, tp: TopicPartition) => {
        this.received.push({
          name: mqttTopic,
          value: decoder.decode(record.value!),
          tp,
          offset: record.offset,
        });
        if (!this.holding) return Promise.resolve();
        return new Promise<void>((resolve) => this.held.push(resolve));
      },
    });
    await this.member.settled();
    return this;
  }
}

describe('MQTT shared subscriptions as consumer groups', () => {
  let logBroker: LogBroker;
  let broker: TributaryBroker;

  beforeEach(async () => {
    logBroker = await openLogBroker();
    broker = logBroker.broker;
    await broker.createTopic('plant', { partitions: 4 });
  });
  afterEach(async () => {
    await logBroker.close();
  });

  async function publish(count: number, from = 0): Promise<string[]> {
    const values: string[] = [];
    const records = Array.from({ length: count }, (_, i) => {
      const value = `m${from + i}`;
      values.push(value);
      return { key: encoder.encode(`plant/line${(from + i) % 8}/temp`), value: encoder.encode(value) };
    });
    await broker.produce('plant', records);
    return values;
  }

  it('delivers each matching message to exactly one member, spread over the members, in order per topic', async () => {
    const a = await new TestMember('a').join(broker);
    const b = await new TestMember('b').join(broker);
    await a.member.settled();
    expect(a.member.partitions.length + b.member.partitions.length).toBe(4);
    expect(a.member.partitions.length).toBe(2);
    await broker.produce('plant', [
      { key: encoder.encode('plant/line1/pressure'), value: encoder.encode('no') },
    ]);
    const sent = await publish(200);
    await eventually(() => expect(a.received.length + b.received.length).toBe(200));
    const all = [...a.received, ...b.received];
    expect(all.map((r) => r.value).sort()).toEqual([...sent].sort());
    expect(a.received.length).toBeGreaterThan(0);
    expect(b.received.length).toBeGreaterThan(0);
    for (const member of [a, b]) {
      const byTopic = new Map<string, number[]>();
      for (const r of member.received)
        byTopic.set(r.name, [...(byTopic.get(r.name) ?? []), Number(r.value.slice(1))]);
      for (const sequence of byTopic.values()) expect(sequence).toEqual([...sequence].sort((x, y) => x - y));
    }
    // Positions are the group's committed offsets, after acknowledgement.
    const partitions = [0, 1, 2, 3].map((partition) => ({ topic: 'plant', partition }));
    await eventually(async () => {
      const committed = await broker.fetchOffsets(SUBSCRIPTION, partitions);
      const ends = await Promise.all(partitions.map((tp) => broker.offsets(tp.topic, tp.partition)));
      expect(committed.map((c) => c.offset)).toEqual(ends.map((e) => e.next));
    });
    await a.member.leave();
    await b.member.leave();
  });

  it('a member that leaves with messages unacknowledged: another member gets them', async () => {
    const a = await new TestMember('a').join(broker);
    a.holding = true;
    await publish(40);
    await eventually(() => expect(a.received).toHaveLength(40));
    // Acknowledge the first ten; the rest stay unacknowledged when the client goes away.
    const acknowledged = a.received.slice(0, 10);
    for (const resolve of a.held.splice(0, 10)) resolve();
    const b = await new TestMember('b').join(broker);
    await a.member.leave();
    await b.member.settled();
    await eventually(() => expect(b.member.partitions).toHaveLength(4));
    const more = await publish(10, 40);
    await eventually(() => {
      const values = new Set(b.received.map((r) => r.value));
      for (const r of a.received.slice(10)) expect(values.has(r.value)).toBe(true);
      for (const value of more) expect(values.has(value)).toBe(true);
    });
    // Acknowledged and committed before leaving: not delivered again, unless its partition held an
    // unacknowledged record before it (the commit is the first unacknowledged offset).
    const firstUnacked = new Map<number, number>();
    for (const r of a.received.slice(10)) {
      firstUnacked.set(r.tp.partition, Math.min(firstUnacked.get(r.tp.partition) ?? r.offset, r.offset));
    }
    const again = new Set(b.received.map((r) => r.value));
    for (const r of acknowledged) {
      if (r.offset < (firstUnacked.get(r.tp.partition) ?? Number.POSITIVE_INFINITY)) {
        expect(again.has(r.value)).toBe(false);
      }
    }
    await b.member.leave();
  });

  it('a partition with no commit yet is owed from the moment the group first read it', async () => {
    const a = await new TestMember('a').join(broker);
    const before = await broker.fetchOffsets(SUBSCRIPTION, [{ topic: 'plant', partition: 0 }]);
    expect(before).toEqual([{ topic: 'plant', partition: 0, offset: 0 }]);
    await a.member.leave();
    // Nobody is subscribed while these are published; the next member still gets them.
    const sent = await publish(12);
    const b = await new TestMember('b').join(broker);
    await eventually(() => expect(b.received.map((r) => r.value).sort()).toEqual([...sent].sort()));
    await b.member.leave();
  });
});
