/**
 * @module server/front/mqtt/retained
 * MQTT retained messages (3.1.1 §3.3.1.3, 5.0 §3.3.1.3) kept in the compacted internal topic
 * `__mqtt.retained`: key = the MQTT topic name, value and headers = the message (the record
 * shape of docs/mqtt.md), a tombstone (null value) once a retained message is cleared by an
 * empty payload. Compaction keeps the latest record per topic name, so the topic stays about
 * as large as the retained set.
 *
 * The store holds the retained set in memory, in a tree of topic levels, so a subscription
 * visits only the branches its filter can match (a literal first level reads one Tributary
 * topic's branch). Memory follows the log and nothing else: the set is loaded at start and then
 * updated by a subscription to the topic, in offset order, whoever wrote the record; `retain()`
 * resolves once its record is durable (fsync always) and applied, so a client that subscribes
 * after its PUBACK sees the message. Bounded by a count and a byte size: past either, a new
 * retained message is refused with `RESOURCE_EXHAUSTED` before anything is written.
 *
 * @example
 * const retained = await RetainedStore.open(broker.forSystem(), { messagesMax: 100_000, bytesMax: 256 << 20, logger });
 * await retained.retain('sensors/kitchen/temp', record);   // record.value empty: clears
 * for (const { topicName, record } of retained.matching(parseTopicFilter('sensors/#'))) send(topicName, record);
 */
import type { Logger } from 'pino';
import { readToEnd } from '../../../broker/read-to-end.js';
import type { Broker, LogRecord, RecordInput, Subscription } from '../../../broker/types.js';
import { isDamageError, isTributaryError, TributaryError } from '../../../errors.js';
import { mqttTopicToLog, type TopicFilter } from './topics.js';

export const MQTT_RETAINED_TOPIC = '__mqtt.retained';

/** A retained message: its MQTT topic name and the stored record (value = payload). */
export interface RetainedMessage {
  readonly topicName: string;
  readonly record: LogRecord;
}

export interface RetainedStoreOptions {
  /** Most retained messages kept (setting `mqttRetainedMessagesMax`). */
  readonly messagesMax: number;
  /** Most bytes of retained names, payloads and headers kept (setting `mqttRetainedBytesMax`). */
  readonly bytesMax: number;
  readonly logger: Logger;
}

/** A node of the topic tree: one level of an MQTT topic name. */
interface LevelNode {
  readonly children: Map<string, LevelNode>;
  message: RetainedMessage | null;
  bytes: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const DELIVERY_CREDIT = 1000;

export class RetainedStore {
  readonly #broker: Broker;
  readonly #options: RetainedStoreOptions;
  readonly #root: LevelNode = newNode();
  #count = 0;
  #bytes = 0;
  /** New names being written by `retain()`, with their size: counted against the limits. */
  readonly #reserved = new Map<string, number>();
  #reservedBytes = 0;
  /** Offset of the next record to apply: every record below it is in memory. */
  #appliedNext = 0;
  readonly #waiters: { offset: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  #subscription: Subscription | null = null;
  #failure: unknown = null;
  #skippedWarned = false;

  private constructor(broker: Broker, options: RetainedStoreOptions) {
    this.#broker = broker;
    this.#options = options;
  }

  /** Creates the topic if needed, loads every retained message, then follows the topic. */
  static async open(systemBroker: Broker, options: RetainedStoreOptions): Promise<RetainedStore> {
    const store = new RetainedStore(systemBroker, options);
    try {
      await systemBroker.createTopic(MQTT_RETAINED_TOPIC, { partitions: 1, compact: true, fsync: 'always' });
    } catch (error) {
      if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
    }
    try {
      await store.#load();
    } catch (error) {
      // Damaged: retained messages are offline (none served, retaining one answers the damage);
      // MQTT itself goes on and /healthz reports it.
      if (!isDamageError(error)) throw error;
      store.#fail(error);
      return store;
    }
    // A delivery may come before `subscribe` resolves: its credit is given back then.
    let ungranted = 0;
    store.#subscription = await systemBroker.subscribe({
      topic: MQTT_RETAINED_TOPIC,
      partition: 0,
      from: { offset: store.#appliedNext },
      credit: DELIVERY_CREDIT,
      onRecords: ({ records }) => {
        store.#apply(records);
        if (store.#subscription === null) ungranted += records.length;
        else store.#subscription.grant(records.length);
      },
      onError: (error) => store.#fail(error),
    });
    if (ungranted > 0) store.#subscription.grant(ungranted);
    return store;
  }

  /** Retained messages held. */
  get size(): number {
    return this.#count;
  }

  /** Bytes of retained names, payloads and headers held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Makes `record` the retained message of `topicName` (its key is set to the name), or clears
   * it when the value is empty. Resolves once durable and visible to {@link matching}; throws
   * `RESOURCE_EXHAUSTED` (nothing written) when a new message would pass a limit.
   */
  async retain(topicName: string, record: RecordInput): Promise<void> {
    if (this.#failure !== null) throw this.#failure;
    const clear = record.value === null || record.value.length === 0;
    const key = encoder.encode(topicName);
    const input: RecordInput = clear
      ? { key, value: null }
      : { key, value: record.value, headers: record.headers ?? [], ...timestampOf(record) };
    const reserved = clear ? 0 : this.#reserve(topicName, recordBytes(key, input));
    try {
      const [produced] = await this.#broker.produce(MQTT_RETAINED_TOPIC, [{ ...input, partition: 0 }]);
      await this.#applied(produced!.offset);
    } finally {
      if (reserved > 0) {
        this.#reserved.delete(topicName);
        this.#reservedBytes -= reserved;
      }
    }
  }

  /**
   * The retained messages whose names match `filter`, in no set order. `mayRead(topic)` leaves
   * out the Tributary topics (first levels; the second after an empty first) the subscriber may not read.
   */
  matching(filter: TopicFilter, mayRead: (topic: string) => boolean = () => true): RetainedMessage[] {
    const found: RetainedMessage[] = [];
    const { levels } = filter;
    const first = levels[0]!;
    const roots: LevelNode[] = [];
    if (first === '+' || first === '#') {
      for (const [topic, node] of this.#root.children) {
        // MQTT §4.7.2: a filter starting with a wildcard matches no name starting with "$".
        if (!topic.startsWith('$') && (topic === '' || mayRead(topic))) roots.push(node);
      }
    } else {
      const node = this.#root.children.get(first);
      if (node !== undefined && (first === '' || mayRead(first))) roots.push(node);
    }
    // Depth-first with an explicit stack: names may have thousands of levels.
    const stack: { node: LevelNode; index: number }[] = roots.map((node) => ({ node, index: 1 }));
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const { node, index } = next;
      if (first === '#' || levels[index] === '#') {
        collectSubtree(node, found);
        continue;
      }
      if (index === levels.length) {
        if (node.message !== null) found.push(node.message);
        continue;
      }
      const level = levels[index]!;
      if (level === '+') {
        for (const child of node.children.values()) stack.push({ node: child, index: index + 1 });
      } else {
        const child = node.children.get(level);
        if (child !== undefined) stack.push({ node: child, index: index + 1 });
      }
    }
    // Names with an empty first level (`/devices/x`) are in the topic of their second level.
    return found.some((m) => m.topicName.startsWith('/'))
      ? found.filter((m) => !m.topicName.startsWith('/') || mayRead(mqttTopicToLog(m.topicName).topic))
      : found;
  }

  /**
   * The record at `offset` of the retained topic while it is still there (compaction removes
   * replaced ones): for resending a retained message a client had not acknowledged.
   */
  async recordAt(offset: number): Promise<LogRecord | undefined> {
    const [record] = await this.#broker.fetch(MQTT_RETAINED_TOPIC, 0, offset, { maxRecords: 1 });
    return record?.offset === offset && record.value !== null ? record : undefined;
  }

  /** Stops following the topic; pending `retain()` calls fail with `SHUTTING_DOWN`. */
  close(): void {
    this.#subscription?.close();
    this.#subscription = null;
    this.#fail(new TributaryError('SHUTTING_DOWN'));
  }

  // ---- internals ---------------------------------------------------------------------------

  async #load(): Promise<void> {
    const next = await readToEnd(this.#broker, MQTT_RETAINED_TOPIC, 0, (records) => this.#apply(records));
    // Compaction may have removed the last records: nothing below `next` is left to read.
    this.#appliedNext = Math.max(this.#appliedNext, next);
    this.#options.logger.debug(
      { messages: this.#count, bytes: this.#bytes },
      'MQTT retained messages loaded',
    );
  }

  #apply(records: readonly LogRecord[]): void {
    for (const record of records) {
      const topicName = nameOf(record);
      if (topicName !== null) {
        if (record.value === null || record.value.length === 0) this.#remove(topicName);
        else this.#put(topicName, record);
      }
      this.#appliedNext = record.offset + 1;
    }
    for (let i = this.#waiters.length - 1; i >= 0; i -= 1) {
      const waiter = this.#waiters[i]!;
      if (waiter.offset < this.#appliedNext) {
        this.#waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  #put(topicName: string, record: LogRecord): void {
    const bytes = recordBytes(record.key!, record);
    let node = this.#root;
    for (const level of topicName.split('/')) {
      let child = node.children.get(level);
      if (child === undefined) {
        child = newNode();
        node.children.set(level, child);
      }
      node = child;
    }
    const isNew = node.message === null;
    const grownBytes = this.#bytes + bytes - node.bytes;
    if (isNew && (this.#count >= this.#options.messagesMax || grownBytes > this.#options.bytesMax)) {
      // Only when another writer (or a lowered limit at start) passed the limits.
      this.#warnSkipped(topicName);
      this.#remove(topicName);
      return;
    }
    if (isNew) this.#count += 1;
    this.#bytes = grownBytes;
    node.message = { topicName, record };
    node.bytes = bytes;
  }

  #remove(topicName: string): void {
    const path: LevelNode[] = [this.#root];
    const levels = topicName.split('/');
    for (const level of levels) {
      const child = path[path.length - 1]!.children.get(level);
      if (child === undefined) return;
      path.push(child);
    }
    const node = path[path.length - 1]!;
    if (node.message !== null) {
      this.#count -= 1;
      this.#bytes -= node.bytes;
      node.message = null;
      node.bytes = 0;
    }
    // Prune the branch back to the last node still in use.
    for (let i = levels.length; i > 0; i -= 1) {
      const current = path[i]!;
      if (current.message !== null || current.children.size > 0) break;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
  }

  /**
   * Throws `RESOURCE_EXHAUSTED` when {@link retain} would refuse `record` now: for callers that
   * must refuse before doing anything else (the MQTT front end, before appending to the topic).
   */
  check(topicName: string, record: RecordInput): void {
    // A store that cannot retain (damaged, stopped) refuses before the message is appended.
    if (this.#failure !== null) throw this.#failure;
    if (record.value === null || record.value.length === 0) return;
    this.#limitsAllow(topicName, recordBytes(encoder.encode(topicName), record));
  }

  /** Throws when a message of `bytes` under `topicName` would pass a limit; true when the name is new. */
  #limitsAllow(topicName: string, bytes: number): boolean {
    const held = this.#find(topicName);
    const isNew = held === null && !this.#reserved.has(topicName);
    const count = this.#count + this.#reserved.size + (isNew ? 1 : 0);
    const total = this.#bytes + this.#reservedBytes + bytes - (held?.bytes ?? 0);
    const { messagesMax, bytesMax } = this.#options;
    if (count > messagesMax)
      throw exhausted('retained MQTT messages', messagesMax, 'mqttRetainedMessagesMax');
    if (total > bytesMax) throw exhausted('retained MQTT message bytes', bytesMax, 'mqttRetainedBytesMax');
    return isNew;
  }

  /** Counts a new retained message against the limits before it is written; returns its size. */
  #reserve(topicName: string, bytes: number): number {
    const isNew = this.#limitsAllow(topicName, bytes);
    if (!isNew) return 0;
    this.#reserved.set(topicName, bytes);
    this.#reservedBytes += bytes;
    return bytes;
  }

  #find(topicName: string): LevelNode | null {
    let node: LevelNode | undefined = this.#root;
    for (const level of topicName.split('/')) {
      node = node.children.get(level);
      if (node === undefined) return null;
    }
    return node.message === null ? null : node;
  }

  #applied(offset: number): Promise<void> {
    if (offset < this.#appliedNext) return Promise.resolve();
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#waiters.push({ offset, resolve, reject }));
  }

  #fail(error: unknown): void {
    if (this.#failure === null) {
      this.#failure = error;
      if (!isTributaryError(error, 'SHUTTING_DOWN')) {
        this.#options.logger.error({ err: error }, 'MQTT retained messages stopped following their topic');
      }
    }
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  #warnSkipped(topicName: string): void {
    if (this.#skippedWarned) return;
    this.#skippedWarned = true;
    this.#options.logger.warn(
      { topicName, messagesMax: this.#options.messagesMax, bytesMax: this.#options.bytesMax },
      'MQTT retained messages past mqttRetainedMessagesMax / mqttRetainedBytesMax are not served',
    );
  }
}

function newNode(): LevelNode {
  return { children: new Map(), message: null, bytes: 0 };
}

function collectSubtree(root: LevelNode, found: RetainedMessage[]): void {
  const stack = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.message !== null) found.push(node.message);
    for (const child of node.children.values()) stack.push(child);
  }
}

/** The MQTT topic name a stored record retains; null for a record without a UTF-8 key. */
function nameOf(record: LogRecord): string | null {
  if (record.key === null || record.key.length === 0) return null;
  try {
    return decoder.decode(record.key);
  } catch {
    return null;
  }
}

function recordBytes(key: Uint8Array, record: RecordInput): number {
  let bytes = key.length + (record.value?.length ?? 0);
  for (const header of record.headers ?? []) bytes += header.key.length + header.value.length;
  return bytes;
}

function timestampOf(record: RecordInput): { timestamp?: number } {
  return record.timestamp === undefined ? {} : { timestamp: record.timestamp };
}

function exhausted(what: string, limit: number, limitName: string): TributaryError {
  return new TributaryError('RESOURCE_EXHAUSTED', { what, limit, limitName });
}
