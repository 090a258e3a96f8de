/**
 * @module protocol/kafka/consumer-protocol
 * Readers for the two payloads Kafka consumers (protocol type `consumer`) put in group
 * membership, which the broker otherwise passes on untouched: the member's subscription (the
 * JoinGroup protocol metadata) and the assignment the leader made for it (SyncGroup). Tributary
 * reads them only to show who consumes what (`GET /v1/groups`, the dashboard). Only the leading
 * fields are read; later versions add fields after them (user data, owned partitions, rack), so
 * every version from 0 decodes.
 *
 * ```
 * ConsumerProtocolSubscription => version:int16 [topic:string] …
 * ConsumerProtocolAssignment   => version:int16 [topic:string [partition:int32]] …
 * ```
 *
 * Bytes from a client are hostile until read: a count that the remaining bytes cannot hold, a
 * negative length or a short buffer is `MALFORMED_DATA`, never a huge loop or an allocation.
 *
 * @example
 * decodeConsumerAssignment(member.assignment); // [{ topic: 'orders', partitions: [0, 2] }]
 */
import { ByteReader } from './primitives/byte-reader.js';
import { malformed } from './primitives/errors.js';

export interface AssignedTopic {
  readonly topic: string;
  readonly partitions: readonly number[];
}

/** The topics of a member's `consumer` subscription. */
export function decodeConsumerSubscription(bytes: Uint8Array): string[] {
  const reader = new ByteReader(bytes, 0, bytes.length, 'consumer protocol subscription');
  readVersion(reader);
  const topics: string[] = [];
  const count = readCount(reader, 2);
  for (let i = 0; i < count; i++) topics.push(readString(reader));
  return topics;
}

/** The partitions assigned to a member of a `consumer` group; [] for an empty assignment. */
export function decodeConsumerAssignment(bytes: Uint8Array): AssignedTopic[] {
  // Members that were not assigned yet (and DescribeGroups outside Stable) carry no bytes.
  if (bytes.length === 0) return [];
  const reader = new ByteReader(bytes, 0, bytes.length, 'consumer protocol assignment');
  readVersion(reader);
  const out: AssignedTopic[] = [];
  const topics = readCount(reader, 6);
  for (let i = 0; i < topics; i++) {
    const topic = readString(reader);
    const partitions: number[] = [];
    const count = readCount(reader, 4);
    for (let j = 0; j < count; j++) partitions.push(reader.readInt32());
    out.push({ topic, partitions });
  }
  return out;
}

function readVersion(reader: ByteReader): void {
  const version = reader.readInt16();
  if (version < 0) throw malformed(reader.what, `version ${version} is negative`);
}

/** An array length whose entries (at least `entryBytesMin` each) fit in what is left. */
function readCount(reader: ByteReader, entryBytesMin: number): number {
  const count = reader.readInt32();
  // -1 is a null array (never sent by real clients for these fields): read as empty.
  if (count === -1) return 0;
  if (count < 0 || count * entryBytesMin > reader.remaining) {
    throw malformed(reader.what, `an array of ${count} entries does not fit in ${reader.remaining} bytes`);
  }
  return count;
}

function readString(reader: ByteReader): string {
  const length = reader.readInt16();
  if (length < 0) throw malformed(reader.what, `a topic name of length ${length}`);
  return reader.readString(length);
}
