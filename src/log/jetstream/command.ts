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
 * Every command is checked where it is applied, against the state the commands before it left
 * (producer sequence, epochs, transaction state, `expectedLastOffset`, which an append carries),
 * the same way on every gateway: a refused command is stored but changes nothing.
 *
 * Encoding: the kind and arguments in NATS headers (`Tributary-Op`, `Tributary-Time`, …), the
 * records in the payload as a Kafka RecordBatch v2 (`append`: encoded here, uncompressed;
 * `batch`: the bytes a Kafka client sent, kept as sent). Several commands written together are
 * one message (`Tributary-Op: multi`) whose payload frames each command's fields (JSON) and
 * payload, applied in order.
 *
 * @example
 * const parts = encodeCommandParts({ op: 'append', now, records, transactional: false });
 * const { headers, payload } = commandMessage([parts]);
 * const commands = decodeCommands(msg.headers, msg.data);
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
      /** Refused with `EXPECTED_OFFSET_MISMATCH` where the log's last offset is another. */
      readonly expectedLastOffset?: number;
    }
  | {
      readonly op: 'batch';
      readonly now: number;
      readonly batch: Uint8Array;
      readonly expectedLastOffset?: number;
    }
  | { readonly op: 'marker'; readonly now: number; readonly marker: TransactionMarker }
  | { readonly op: 'delete-records'; readonly now: number; readonly beforeOffset: number }
  | { readonly op: 'retention'; readonly now: number }
  | { readonly op: 'compact'; readonly now: number };

export interface EncodedCommand {
  readonly headers: MsgHdrs;
  readonly payload: Uint8Array;
}

/** One command as header fields and a payload, before it becomes (part of) a message. */
export interface CommandParts {
  readonly fields: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
}

const OP = 'Tributary-Op';
const TIME = 'Tributary-Time';
const PRODUCER = 'Tributary-Producer';
const TRANSACTIONAL = 'Tributary-Transactional';
const EXPECTED_LAST = 'Tributary-Expected-Last';
const MARKER = 'Tributary-Marker';
const BEFORE = 'Tributary-Before';
const MULTI = 'multi';
const EMPTY = new Uint8Array(0);
/** Bytes a multi message adds per command besides its fields and payload (two lengths). */
export const FRAME_OVERHEAD_BYTES = 8;

/**
 * Encodes a command's fields and payload. For `append` the records are copied into the payload
 * here, so the caller's bytes may change as soon as this returns.
 */
export function encodeCommandParts(command: Command): CommandParts {
  const fields: Record<string, string> = { [OP]: command.op, [TIME]: String(command.now) };
  switch (command.op) {
    case 'append': {
      if (command.producer !== undefined) {
        const { producerId, producerEpoch, baseSequence } = command.producer;
        fields[PRODUCER] = `${producerId},${producerEpoch},${baseSequence}`;
      }
      if (command.transactional) fields[TRANSACTIONAL] = '1';
      if (command.expectedLastOffset !== undefined)
        fields[EXPECTED_LAST] = String(command.expectedLastOffset);
      const payload = encodeRecordBatch({
        baseOffset: 0,
        records: command.records.map((record) => ({
          timestamp: record.timestamp ?? command.now,
          key: record.key,
          value: record.value,
          headers: record.headers ?? [],
        })),
      });
      return { fields, payload };
    }
    case 'batch':
      if (command.expectedLastOffset !== undefined)
        fields[EXPECTED_LAST] = String(command.expectedLastOffset);
      return { fields, payload: command.batch };
    case 'marker': {
      const { producerId, producerEpoch, commit } = command.marker;
      fields[MARKER] = `${producerId},${producerEpoch},${commit ? 1 : 0}`;
      return { fields, payload: EMPTY };
    }
    case 'delete-records':
      fields[BEFORE] = String(command.beforeOffset);
      return { fields, payload: EMPTY };
    default:
      return { fields, payload: EMPTY };
  }
}

/** Size of `parts` inside a multi message. */
export function framedSize(parts: CommandParts): number {
  return (
    FRAME_OVERHEAD_BYTES + encoder.encode(JSON.stringify(parts.fields)).byteLength + parts.payload.byteLength
  );
}

/** The message holding `parts`: one command as headers and payload, several as a multi message. */
export function commandMessage(parts: readonly CommandParts[]): EncodedCommand {
  const h = natsHeaders();
  if (parts.length === 1) {
    for (const [name, value] of Object.entries(parts[0]!.fields)) h.set(name, value);
    return { headers: h, payload: parts[0]!.payload };
  }
  h.set(OP, MULTI);
  h.set(TIME, parts[0]?.fields[TIME] ?? '0');
  const frames = parts.map((part) => ({
    fields: encoder.encode(JSON.stringify(part.fields)),
    payload: part.payload,
  }));
  let size = 0;
  for (const frame of frames)
    size += FRAME_OVERHEAD_BYTES + frame.fields.byteLength + frame.payload.byteLength;
  const payload = new Uint8Array(size);
  const view = new DataView(payload.buffer);
  let at = 0;
  for (const frame of frames) {
    view.setUint32(at, frame.fields.byteLength);
    payload.set(frame.fields, at + 4);
    at += 4 + frame.fields.byteLength;
    view.setUint32(at, frame.payload.byteLength);
    payload.set(frame.payload, at + 4);
    at += 4 + frame.payload.byteLength;
  }
  return { headers: h, payload };
}

/** Encodes one command as one message (see `encodeCommandParts`). */
export function encodeCommand(command: Command): EncodedCommand {
  return commandMessage([encodeCommandParts(command)]);
}

/** Decodes a stored message into its commands; `CORRUPT_LOG` when it is not one this engine wrote. */
export function decodeCommands(h: MsgHdrs | undefined, payload: Uint8Array): Command[] {
  if (h?.get(OP) !== MULTI) return [decodeCommand(h, payload)];
  const commands: Command[] = [];
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  for (let at = 0; at < payload.byteLength; ) {
    if (at + 4 > payload.byteLength) throw corrupt('a truncated multi command');
    const fieldsLength = view.getUint32(at);
    const fieldsEnd = at + 4 + fieldsLength;
    if (fieldsEnd + 4 > payload.byteLength) throw corrupt('a truncated multi command');
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(decoder.decode(payload.subarray(at + 4, fieldsEnd))) as Record<string, unknown>;
    } catch {
      throw corrupt('unreadable fields in a multi command');
    }
    const payloadLength = view.getUint32(fieldsEnd);
    const end = fieldsEnd + 4 + payloadLength;
    if (end > payload.byteLength) throw corrupt('a truncated multi command');
    const get = (name: string): string | undefined => {
      const value = fields[name];
      return typeof value === 'string' ? value : undefined;
    };
    if (get(OP) === MULTI) throw corrupt('a multi command inside a multi command');
    commands.push(decodeFields(get, payload.subarray(fieldsEnd + 4, end)));
    at = end;
  }
  if (commands.length === 0) throw corrupt('an empty multi command');
  return commands;
}

/** Decodes a stored single command; `CORRUPT_LOG` when it is not one this engine wrote. */
export function decodeCommand(h: MsgHdrs | undefined, payload: Uint8Array): Command {
  return decodeFields((name) => h?.get(name), payload);
}

function decodeFields(get: (name: string) => string | undefined, payload: Uint8Array): Command {
  const op = get(OP) ?? '';
  const now = integer(get(TIME), 'time');
  const expected = get(EXPECTED_LAST);
  const expectedLastOffset = expected
    ? { expectedLastOffset: integer(expected, 'expected last offset') }
    : {};
  switch (op) {
    case 'append': {
      const producer = get(PRODUCER);
      return {
        op,
        now,
        records: decodeRecords(payload),
        ...(producer ? { producer: parseProducer(producer) } : {}),
        transactional: get(TRANSACTIONAL) === '1',
        ...expectedLastOffset,
      };
    }
    case 'batch':
      return { op, now, batch: payload, ...expectedLastOffset };
    case 'marker': {
      const [producerId, producerEpoch, commit] = numbers(get(MARKER), 3, 'marker');
      return {
        op,
        now,
        marker: { producerId: producerId!, producerEpoch: producerEpoch!, commit: commit === 1 },
      };
    }
    case 'delete-records':
      return { op, now, beforeOffset: integer(get(BEFORE), 'before') };
    case 'retention':
    case 'compact':
      return { op, now };
    default:
      throw corrupt(`unknown command "${op}"`);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
