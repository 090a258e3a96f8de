import fc from 'fast-check';
import { AssignerProtocol } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import { decodeConsumerAssignment, decodeConsumerSubscription } from './consumer-protocol.js';

describe('consumer protocol payloads', () => {
  it('reads what kafkajs encodes: subscription topics and assigned partitions', () => {
    const metadata = AssignerProtocol.MemberMetadata.encode({
      version: 1,
      topics: ['orders', 'payments.eu'],
      userData: Buffer.from('opaque'),
    });
    expect(decodeConsumerSubscription(metadata)).toEqual(['orders', 'payments.eu']);
    const assignment = AssignerProtocol.MemberAssignment.encode({
      version: 1,
      assignment: { orders: [0, 2], 'payments.eu': [1] },
      userData: Buffer.alloc(0),
    });
    expect(decodeConsumerAssignment(assignment)).toEqual([
      { topic: 'orders', partitions: [0, 2] },
      { topic: 'payments.eu', partitions: [1] },
    ]);
  });

  it('reads librdkafka-style v3 subscriptions (fields after the topics are left alone)', () => {
    // version 3, topics ["t"], user data null, owned partitions [], generation 7, rack null
    const bytes = Uint8Array.from([
      0, 3, 0, 0, 0, 1, 0, 1, 0x74, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0xff,
    ]);
    expect(decodeConsumerSubscription(bytes)).toEqual(['t']);
  });

  it('reads an empty assignment as no partitions', () => {
    expect(decodeConsumerAssignment(new Uint8Array(0))).toEqual([]);
  });

  it('refuses counts the bytes cannot hold instead of looping or allocating', () => {
    const huge = Uint8Array.from([0, 0, 0x7f, 0xff, 0xff, 0xff]);
    for (const decode of [decodeConsumerAssignment, decodeConsumerSubscription]) {
      let caught: unknown;
      try {
        decode(huge);
      } catch (error) {
        caught = error;
      }
      expect(isTributaryError(caught, 'MALFORMED_DATA')).toBe(true);
    }
  });

  it('never throws anything but MALFORMED_DATA on arbitrary bytes (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        for (const decode of [decodeConsumerAssignment, decodeConsumerSubscription]) {
          try {
            decode(bytes);
          } catch (error) {
            if (!isTributaryError(error, 'MALFORMED_DATA')) throw error;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
