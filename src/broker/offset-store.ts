/**
 * @module broker/offset-store
 * Committed consumer-group offsets. The durable copy is the compacted internal topic
 * `__consumer_offsets`: key = UTF-8 JSON `[group, topic, partition]`, value = UTF-8 JSON
 * `{ offset, committedAt }`, a null value (tombstone) deletes the commit. The broker keeps them
 * materialized in memory, loaded at startup by reading the topic from the start, so commits
 * survive restarts and lookups never touch the log.
 */
import type { Logger } from 'pino';
import { isDamageError, type TributaryError } from '../errors.js';
import type { Log, LogRecord, RecordInput } from '../log/types.js';
import { CONSUMER_OFFSETS_TOPIC } from './internal-topics.js';
import { readToEnd } from './read-to-end.js';
import type { CommittedOffset, TopicPartition } from './types.js';

export interface StoredCommit {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly committedAt: number;
}

interface Entry extends StoredCommit {
  /** Offset of the commit's record in `__consumer_offsets`: a later record always wins. */
  readonly logOffset: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LOAD_BATCH_RECORDS = 10_000;

export class OffsetStore {
  private readonly commits = new Map<string, Entry>();
  /**
   * Set when `__consumer_offsets` was found damaged at load: committed offsets are unknown, so
   * every lookup and commit answers this error instead of "no commit" (which would move
   * consumers to their reset position); the rest of the broker serves.
   */
  private damage: TributaryError | undefined;

  private constructor(
    private readonly log: Log,
    private readonly logger: Logger,
  ) {}

  /** Stops `follow`ing the topic; set while it runs. */
  private following: AbortController | undefined;
  /** The next `__consumer_offsets` offset the follower applies (while following). */
  private followedTo = 0;
  /**
   * Deletions this store applied before its follower reached them: key → log offset of the
   * tombstone. Until the follower passes it, an older commit it replays for the key must not come
   * back (`apply` compares log offsets with the entry, and a deleted key has none).
   */
  private readonly deletedAhead = new Map<string, number>();

  /**
   * Reads `__consumer_offsets` from the start and returns the store holding its latest state.
   * With `follow` (a log shared by several gateways), the store then keeps applying commits
   * appended through other gateways, as they land, until `close()`.
   */
  static async load(log: Log, logger: Logger, options: { follow?: boolean } = {}): Promise<OffsetStore> {
    const store = new OffsetStore(log, logger);
    try {
      const next = await readToEnd(
        log,
        CONSUMER_OFFSETS_TOPIC,
        0,
        (records) => {
          for (const record of records) store.applyRecord(record);
        },
        { maxRecords: LOAD_BATCH_RECORDS },
      );
      if (options.follow === true) store.follow(next);
    } catch (error) {
      if (!isDamageError(error)) throw error;
      logger.error({ err: error }, 'committed offsets are offline: __consumer_offsets is damaged');
      store.commits.clear();
      store.damage = error;
    }
    return store;
  }

  /** Stops following the topic (the broker is closing). */
  close(): void {
    this.following?.abort();
    this.following = undefined;
  }

  private follow(from: number): void {
    const following = new AbortController();
    this.following = following;
    const { signal } = following;
    this.followedTo = from;
    void (async () => {
      while (!signal.aborted) {
        await this.log.waitForAppend(CONSUMER_OFFSETS_TOPIC, 0, this.followedTo, signal);
        const records = await this.log.read(CONSUMER_OFFSETS_TOPIC, 0, this.followedTo, {
          maxRecords: LOAD_BATCH_RECORDS,
        });
        // Commits and deletions this store wrote itself come again here, after it applied them:
        // only a record newer (later in the log) than what the key holds applies.
        for (const record of records) this.applyRecord(record);
        this.followedTo = (records.at(-1)?.offset ?? this.followedTo - 1) + 1;
        for (const [key, logOffset] of this.deletedAhead) {
          if (logOffset < this.followedTo) this.deletedAhead.delete(key);
        }
      }
    })().catch((error: unknown) => {
      if (signal.aborted) return;
      this.logger.error(
        { err: error },
        'stopped following __consumer_offsets: commits through other gateways are not seen',
      );
    });
  }

  get size(): number {
    return this.commits.size;
  }

  get(group: string, topic: string, partition: number): number | undefined {
    this.checkAvailable();
    return this.commits.get(commitKey(group, topic, partition))?.offset;
  }

  fetch(group: string, partitions: readonly TopicPartition[]): CommittedOffset[] {
    this.checkAvailable();
    const out: CommittedOffset[] = [];
    for (const { topic, partition } of partitions) {
      const entry = this.commits.get(commitKey(group, topic, partition));
      if (entry !== undefined) out.push({ topic, partition, offset: entry.offset });
    }
    return out;
  }

  /** Every known commit (none while the store is damaged: lag and overviews leave them out). */
  all(): Iterable<StoredCommit> {
    return this.commits.values();
  }

  /** Stores commits durably (one append: all or nothing), then updates the in-memory view. */
  async commit(group: string, offsets: readonly CommittedOffset[]): Promise<void> {
    this.checkAvailable();
    if (offsets.length === 0) return;
    const committedAt = Date.now();
    const records: RecordInput[] = offsets.map(({ topic, partition, offset }) => ({
      key: encoder.encode(commitKey(group, topic, partition)),
      value: encoder.encode(JSON.stringify({ offset, committedAt })),
    }));
    const { baseOffset } = await this.log.append(CONSUMER_OFFSETS_TOPIC, 0, records);
    offsets.forEach(({ topic, partition, offset }, i) => {
      this.apply(commitKey(group, topic, partition), {
        group,
        topic,
        partition,
        offset,
        committedAt,
        logOffset: baseOffset + i,
      });
    });
  }

  /**
   * Deletes a group's commits, with tombstones: those of `partitions`, or all of them (null).
   * Returns the partitions that had a commit.
   */
  async deleteGroupOffsets(
    group: string,
    partitions: readonly TopicPartition[] | null,
  ): Promise<TopicPartition[]> {
    this.checkAvailable();
    const wanted =
      partitions === null ? null : new Set(partitions.map((p) => commitKey(group, p.topic, p.partition)));
    const gone = [...this.commits.values()].filter(
      (e) => e.group === group && (wanted === null || wanted.has(commitKey(e.group, e.topic, e.partition))),
    );
    if (gone.length === 0) return [];
    const keys = gone.map((e) => commitKey(e.group, e.topic, e.partition));
    const records: RecordInput[] = keys.map((key) => ({ key: encoder.encode(key), value: null }));
    const { baseOffset } = await this.log.append(CONSUMER_OFFSETS_TOPIC, 0, records);
    keys.forEach((key, i) => {
      this.applyTombstone(key, baseOffset + i);
    });
    return gone.map(({ topic, partition }) => ({ topic, partition }));
  }

  /** Deletes every group's commits for `topic` (the topic was deleted), with tombstones. */
  async deleteTopic(topic: string): Promise<void> {
    this.checkAvailable();
    const keys = [...this.commits.values()]
      .filter((e) => e.topic === topic)
      .map((e) => commitKey(e.group, e.topic, e.partition));
    if (keys.length === 0) return;
    const records: RecordInput[] = keys.map((key) => ({ key: encoder.encode(key), value: null }));
    const { baseOffset } = await this.log.append(CONSUMER_OFFSETS_TOPIC, 0, records);
    keys.forEach((key, i) => {
      this.applyTombstone(key, baseOffset + i);
    });
  }

  /** Throws the damage while `__consumer_offsets` is damaged (commits can be neither read nor stored). */
  checkAvailable(): void {
    if (this.damage !== undefined) throw this.damage;
  }

  private applyRecord(record: LogRecord): void {
    if (record.key === null) return;
    const key = decoder.decode(record.key);
    const parsedKey = parseKey(key);
    if (parsedKey === undefined) {
      this.logger.warn(
        { offset: record.offset },
        'skipping a __consumer_offsets record with a malformed key',
      );
      return;
    }
    if (record.value === null) {
      this.applyTombstone(key, record.offset);
      return;
    }
    const value = parseValue(decoder.decode(record.value));
    if (value === undefined) {
      this.logger.warn(
        { offset: record.offset },
        'skipping a __consumer_offsets record with a malformed value',
      );
      return;
    }
    this.apply(key, { ...parsedKey, ...value, logOffset: record.offset });
  }

  /** Applies a commit if it is newer (later in `__consumer_offsets`) than what the key holds. */
  private apply(key: string, entry: Entry): void {
    const deletedAt = this.deletedAhead.get(key);
    if (deletedAt !== undefined && deletedAt > entry.logOffset) return;
    const current = this.commits.get(key);
    if (current === undefined || current.logOffset < entry.logOffset) this.commits.set(key, entry);
  }

  private applyTombstone(key: string, logOffset: number): void {
    const current = this.commits.get(key);
    if (current !== undefined && current.logOffset < logOffset) this.commits.delete(key);
    if (this.following !== undefined && logOffset >= this.followedTo) {
      this.deletedAhead.set(key, Math.max(logOffset, this.deletedAhead.get(key) ?? logOffset));
    }
  }
}

export function commitKey(group: string, topic: string, partition: number): string {
  return JSON.stringify([group, topic, partition]);
}

function parseKey(key: string): { group: string; topic: string; partition: number } | undefined {
  try {
    const parsed: unknown = JSON.parse(key);
    if (!Array.isArray(parsed) || parsed.length !== 3) return undefined;
    const [group, topic, partition] = parsed as unknown[];
    if (typeof group !== 'string' || typeof topic !== 'string' || !Number.isSafeInteger(partition))
      return undefined;
    return { group, topic, partition: partition as number };
  } catch {
    return undefined;
  }
}

function parseValue(value: string): { offset: number; committedAt: number } | undefined {
  try {
    const parsed = JSON.parse(value) as { offset?: unknown; committedAt?: unknown } | null;
    if (parsed === null || typeof parsed !== 'object') return undefined;
    const { offset, committedAt } = parsed;
    // Negative offsets are Kafka clients' markers for "no position" (see `Broker.commitOffsets`).
    if (!Number.isSafeInteger(offset)) return undefined;
    return { offset: offset as number, committedAt: typeof committedAt === 'number' ? committedAt : 0 };
  } catch {
    return undefined;
  }
}
