/**
 * @module log/jetstream/command
 * The commands a JetStream partition stream holds, one NATS message each, and their encoding.
 *
 * A partition's stream is the replicated, totally ordered command log of that partition: every
 * gateway applies the same commands in stream order to the same deterministic state machine
 * (`MemoryPartition`), so every gateway computes the same offsets, producer state, open
 * transactions and compaction results. A command carries the time its writer chose (`now`), so
 * segment rolls, retention and tombstone ages replay identically.
 *
 * Why one message per append rather than one per record (offset = stream sequence − 1):
 * nats-server 2.9 has no atomic multi-message publish, and a batch (a Kafka RecordBatch, a
 * transaction's records) must be stored all or nothing. Transaction markers, `deleteRecords`,
 * retention and compaction are commands in the same order, so they apply at the same point of
 * the log on every gateway.
 *
 * Encoding: the kind and arguments in NATS headers (`Tributary-Op`, `Tributary-Time`, …), the
 * records in the payload as a Kafka RecordBatch v2 (`append`: encoded here, uncompressed;
 * `batch`: the bytes a Kafka client sent, kept as sent).
 *
 * @example
 * const { headers, payload } = encodeCommand({ op: 'append', now, records, transactional: false });
 * const command = decodeCommand(msg.headers, msg.data);
 */
import { type MsgHdrs, headers as natsHeaders } from 'nats';
import { TributaryError } from '../../errors.js';
import {
  type DecodedRecord,
  decodeRecordBatchRecords,
  encodeRecordBatch,
  readRecordBatchHeader,
} from '../../protocol/kafka/record-batch/index.js';
import type { ProducerBatchId, RecordInput, TransactionMarker } from '../types.js';

export type Command =
  | {
      readonly op: 'append';
      readonly now: number;
      /** Every record has its timestamp (those that came without one got `now`). */
      readonly records: readonly RecordInput[];
      readonly producer?: ProducerBatchId;
      readonly transactional: boolean;
    }
  | { readonly op: 'batch'; readonly now: number; readonly batch: Uint8Array }
  | { readonly op: 'marker'; readonly now: number; readonly marker: TransactionMarker }
  | { readonly op: 'delete-records'; readonly now: number; readonly beforeOffset: number }
  | { readonly op: 'retention'; readonly now: number }
  | { readonly op: 'compact'; readonly now: number };

export interface EncodedCommand {
  readonly headers: MsgHdrs;
  readonly payload: Uint8Array;
}

const OP = 'Tributary-Op';
const TIME = 'Tributary-Time';
const PRODUCER = 'Tributary-Producer';
const TRANSACTIONAL = 'Tributary-Transactional';
const MARKER = 'Tributary-Marker';
const BEFORE = 'Tributary-Before';
const EMPTY = new Uint8Array(0);

/**
 * Encodes a command. For `append` the records are copied into the payload here, so the caller's
 * bytes may change as soon as this returns.
 */
export function encodeCommand(command: Command): EncodedCommand {
  const h = natsHeaders();
  h.set(OP, command.op);
  h.set(TIME, String(command.now));
  switch (command.op) {
    case 'append': {
      if (command.producer !== undefined) {
        const { producerId, producerEpoch, baseSequence } = command.producer;
        h.set(PRODUCER, `${producerId},${producerEpoch},${baseSequence}`);
      }
      if (command.transactional) h.set(TRANSACTIONAL, '1');
      const payload = encodeRecordBatch({
        baseOffset: 0,
        records: command.records.map((record) => ({
          timestamp: record.timestamp ?? command.now,
          key: record.key,
          value: record.value,
          headers: record.headers ?? [],
        })),
      });
      return { headers: h, payload };
    }
    case 'batch':
      return { headers: h, payload: command.batch };
    case 'marker': {
      const { producerId, producerEpoch, commit } = command.marker;
      h.set(MARKER, `${producerId},${producerEpoch},${commit ? 1 : 0}`);
      return { headers: h, payload: EMPTY };
    }
    case 'delete-records':
      h.set(BEFORE, String(command.beforeOffset));
      return { headers: h, payload: EMPTY };
    default:
      return { headers: h, payload: EMPTY };
  }
}

/** Decodes a stored command; `CORRUPT_LOG` when it is not one this engine wrote. */
export function decodeCommand(h: MsgHdrs | undefined, payload: Uint8Array): Command {
  const op = h?.get(OP) ?? '';
  const now = integer(h?.get(TIME), 'time');
  switch (op) {
    case 'append': {
      const producer = h?.get(PRODUCER);
      return {
        op,
        now,
        records: decodeRecords(payload),
        ...(producer ? { producer: parseProducer(producer) } : {}),
        transactional: h?.get(TRANSACTIONAL) === '1',
      };
    }
    case 'batch':
      return { op, now, batch: payload };
    case 'marker': {
      const [producerId, producerEpoch, commit] = numbers(h?.get(MARKER), 3, 'marker');
      return {
        op,
        now,
        marker: { producerId: producerId!, producerEpoch: producerEpoch!, commit: commit === 1 },
      };
    }
    case 'delete-records':
      return { op, now, beforeOffset: integer(h?.get(BEFORE), 'before') };
    case 'retention':
    case 'compact':
      return { op, now };
    default:
      throw corrupt(`unknown command "${op}"`);
  }
}

function decodeRecords(payload: Uint8Array): DecodedRecord[] {
  const header = readRecordBatchHeader(payload, 0);
  if (header === null) throw corrupt('an append without records');
  return decodeRecordBatchRecords(payload, 0, header);
}

function parseProducer(text: string): ProducerBatchId {
  const [producerId, producerEpoch, baseSequence] = numbers(text, 3, 'producer');
  return { producerId: producerId!, producerEpoch: producerEpoch!, baseSequence: baseSequence! };
}

function numbers(text: string | undefined, count: number, what: string): number[] {
  const parts = (text ?? '').split(',').map(Number);
  if (parts.length !== count || !parts.every(Number.isSafeInteger)) throw corrupt(`bad ${what} "${text}"`);
  return parts;
}

function integer(text: string | undefined, what: string): number {
  const value = Number(text);
  if (text === undefined || text === '' || !Number.isSafeInteger(value))
    throw corrupt(`bad ${what} "${text}"`);
  return value;
}

function corrupt(reason: string): TributaryError {
  return new TributaryError('CORRUPT_LOG', { file: 'a JetStream command', position: 0, reason });
}
