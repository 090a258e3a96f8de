/**
 * @module connectors/postgres-cdc/connector
 * One running `postgres-cdc` source: snapshot, then the logical replication stream (pgoutput)
 * from the snapshot's exact LSN into a topic (docs/connectors.md, "Postgres change data capture").
 *
 * Slot safety, the rules this module keeps:
 * - **Acknowledge only what is durable.** Changes are held per transaction until its COMMIT;
 *   whole transactions are written with `broker.commitAtomically` together with the position
 *   (the last commit's end LSN) in `__connectors.positions`; only once that resolves is the LSN
 *   acknowledged to Postgres (standby status update). Keepalives that ask for an answer are
 *   answered with the last durable LSN, never with what was merely received.
 * - **Quiet tables release WAL.** A keepalive received with nothing queued and no transaction
 *   open carries a WAL position below which nothing captured is missing; once the pending
 *   transactions are durable that position is stored too, then confirmed.
 * - **Exactly once across restarts.** Postgres resends from the slot's confirmed position, which
 *   is never past the stored one; transactions whose end LSN is at or below the stored position
 *   are skipped.
 * - **A lost slot is never a silent gap.** A slot that is gone or invalidated (`wal_status =
 *   lost`), found at start, by the lag poll, or by the stream's error, is answered with a
 *   `reset` record and a fresh snapshot whose rows are marked `reset`; `resets` counts them.
 * - **Lag is watched.** The slot's lag in bytes is read every `lagIntervalMs` (also while
 *   paused, when it grows) and past `lagAlarmBytes` the alarm is raised.
 */

import type pg from 'pg';
import type { LogicalReplicationService, Pgoutput } from 'pg-logical-replication';
import { ensureTopic } from '../../broker/ensure-topic.js';
import type { ProduceRecord } from '../../broker/types.js';
import { isTributaryError, TributaryError } from '../../errors.js';
import { sameBytes } from '../../protocol/bytes.js';
import { loadLogicalReplication, loadPg } from '../drivers.js';
import type {
  Connector,
  ConnectorContext,
  ConnectorSpec,
  ConnectorState,
  ConnectorStatus,
} from '../types.js';
import { ensurePublication, slotState, tableShape } from './catalog.js';
import { CollectionMirror } from './collection-mirror.js';
import type { PostgresCdcConfig } from './config.js';
import { formatLsn, parseLsn } from './lsn.js';
import { type ChangeValue, changeRecord, rowJson, rowKey } from './records.js';
import { takeSnapshot } from './snapshot.js';

type PendingChange = {
  readonly key: Uint8Array | null;
  readonly value: Omit<ChangeValue, 'lsn' | 'commitTime'>;
};
interface CommittedTxn {
  readonly records: ProduceRecord[];
  /** The same changes for the collection mirror (empty without one). */
  readonly mirrored: { keyColumns: readonly string[]; value: ChangeValue }[];
  readonly end: bigint;
}

/** Errors of a slot that cannot be streamed from any more: answered with a reset. */
const SLOT_GONE =
  /replication slot "[^"]*" does not exist|can no longer get changes from replication slot|has been invalidated|requested WAL segment .* has already been removed/i;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5_000;
/** Committed records held (not yet durable) before the stream waits for the writes. */
const PENDING_FACTOR = 4;
/** Least time between two positions stored for quiet WAL (keepalives past the last change). */
const QUIET_CONFIRM_INTERVAL_MS = 1_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class PostgresCdcConnector implements Connector {
  #state: ConnectorState = 'starting';
  #error: { code: string; message: string } | undefined;
  #alarm: { reason: string } | undefined;
  #snapshot: { rowsDone: number; rowsTotal: number | null } | undefined;
  /** The stored position: every transaction ending at or below it is durable in the topic. */
  #durable: bigint | null = null;
  #records = 0;
  #lag: number | null = null;
  #resets = 0;
  #client: pg.Client | null = null;
  #service: LogicalReplicationService | null = null;
  #running = false;
  #loop: Promise<void> | null = null;
  #lagTimer: NodeJS.Timeout | null = null;
  #forceReset: string | null = null;
  readonly #keys = new Map<string, readonly string[]>();
  readonly #schemas = new Map<string, string>();
  #txn: PendingChange[] | null = null;
  #pending: CommittedTxn[] = [];
  #pendingRecords = 0;
  #flushing: Promise<void> | null = null;
  /**
   * A keepalive's WAL position reached with every message before it handled and no transaction
   * open: nothing captured lies at or below it beyond what is pending, so once the pending
   * transactions are durable it may be stored and confirmed too (WAL of other tables and
   * databases is then released instead of piling up behind a quiet slot).
   */
  #quiet: bigint | null = null;
  #quietStoredAt = 0;
  /** Stores the newest quiet position once the least interval has passed (see #onQuiet). */
  #quietTimer: NodeJS.Timeout | null = null;
  /** Ends the running stream's wait (pause, stop, a lost slot found by the lag poll). */
  #endStream: (() => void) | null = null;
  readonly #mirror: CollectionMirror | null;

  constructor(
    private readonly spec: ConnectorSpec,
    private readonly config: PostgresCdcConfig,
    private readonly context: ConnectorContext,
  ) {
    this.#mirror =
      config.collection === undefined
        ? null
        : new CollectionMirror(context.collections, config.collection, config.partitions);
  }

  async start(): Promise<void> {
    const client = await this.#connect();
    await ensurePublication(client, this.config);
    await ensureTopic(this.context.broker, this.config.topic, { partitions: this.config.partitions });
    await this.#loadShapes(client);
    const stored = await this.context.positions.load();
    this.#durable = stored === null ? null : parseLsn(stored);
    this.#lagTimer = setInterval(() => void this.#pollLag(), this.config.lagIntervalMs);
    this.#lagTimer.unref();
    this.#begin();
  }

  async pause(): Promise<void> {
    await this.#halt();
    this.#set('paused');
  }

  async resume(): Promise<void> {
    this.#begin();
  }

  async stop(): Promise<void> {
    await this.#halt();
    if (this.#lagTimer !== null) clearInterval(this.#lagTimer);
    this.#lagTimer = null;
    await this.#client?.end().catch(() => undefined);
    this.#client = null;
    this.#set('stopped');
  }

  status(): ConnectorStatus {
    return {
      name: this.spec.name,
      type: this.spec.type,
      kind: 'source',
      state: this.#state,
      position: this.#durable === null ? null : formatLsn(this.#durable),
      lag: this.#lag,
      records: this.#records,
      resets: this.#resets,
      ...(this.#state === 'snapshotting' && this.#snapshot !== undefined
        ? { snapshot: { ...this.#snapshot } }
        : {}),
      ...(this.#error !== undefined && (this.#state === 'retrying' || this.#state === 'failed')
        ? { error: this.#error }
        : {}),
      ...(this.#alarm === undefined ? {} : { alarm: this.#alarm }),
    };
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  #set(state: ConnectorState, error?: unknown): void {
    this.#state = state;
    if (error !== undefined) {
      this.#error = isTributaryError(error)
        ? { code: error.code, message: error.message }
        : { code: 'CONNECTION_LOST', message: error instanceof Error ? error.message : String(error) };
    }
    this.context.onStatus(this.status());
  }

  #begin(): void {
    if (this.#running) return;
    this.#running = true;
    this.#set('starting');
    this.#loop = this.#run();
  }

  async #halt(): Promise<void> {
    this.#running = false;
    await bounded(this.#service?.stop());
    // A stream whose connection close never settles would otherwise hold the loop forever.
    this.#endStream?.();
    await this.#loop;
    this.#loop = null;
    // Nothing is stored once paused or stopped.
    this.#cancelQuiet();
  }

  async #connect(): Promise<pg.Client> {
    if (this.#client !== null) return this.#client;
    const { Client } = await loadPg();
    const client = new Client({ connectionString: this.config.connectionString });
    client.on('error', () => {
      // The connection broke (Postgres restarting): the next use reconnects.
      if (this.#client === client) this.#client = null;
      void client.end().catch(() => undefined);
    });
    await client.connect();
    this.#client = client;
    return client;
  }

  async #loadShapes(client: pg.Client): Promise<void> {
    for (const t of this.config.tables) {
      const shape = await tableShape(client, t);
      this.#keys.set(shape.table, shape.keyColumns);
      this.#schemas.set(shape.table, shape.columns.map((c) => c.name).join(','));
    }
  }

  /** Snapshot when needed, then stream; on a failure wait and go again, until paused or stopped. */
  async #run(): Promise<void> {
    let delay = RETRY_MIN_MS;
    while (this.#running) {
      try {
        const client = await this.#connect();
        const slot = await slotState(client, this.config.slot);
        let reset = this.#forceReset;
        if (this.#durable !== null && reset === null) {
          if (slot === null) reset = `replication slot "${this.config.slot}" is gone`;
          else if (slot.walStatus === 'lost')
            reset = `replication slot "${this.config.slot}" was invalidated (wal_status lost)`;
        }
        if (this.#durable === null || reset !== null) {
          if (!(await this.#snapshotNow(client, reset))) return;
        }
        delay = RETRY_MIN_MS;
        this.context.logger.debug(
          { from: this.#durable === null ? null : formatLsn(this.#durable) },
          'postgres-cdc: streaming',
        );
        await this.#stream();
      } catch (error) {
        if (!this.#running) return;
        if (SLOT_GONE.test(String(error)) && this.#durable !== null) {
          this.#forceReset = `the replication stream failed: ${String(error)}`;
          continue;
        }
        this.context.logger.warn({ err: error }, 'postgres-cdc: retrying');
        this.#set('retrying', error);
        await sleep(delay);
        delay = Math.min(RETRY_MAX_MS, delay * 2);
      }
    }
  }

  /** Takes a snapshot (a reset one when `reset` says why); false when stopped meanwhile. */
  async #snapshotNow(client: pg.Client, reset: string | null): Promise<boolean> {
    if (reset !== null) {
      this.#resets++;
      this.context.logger.warn(
        { reason: reset, resets: this.#resets },
        'postgres-cdc: slot lost, resetting with a fresh snapshot',
      );
      const value: ChangeValue = {
        op: 'reset',
        reason: reset,
        lsn: this.#durable === null ? '0/0' : formatLsn(this.#durable),
        reset: true,
      };
      await this.context.broker.produce(this.config.topic, [changeRecord(null, value)]);
    }
    this.#snapshot = { rowsDone: 0, rowsTotal: null };
    this.#set('snapshotting');
    const result = await takeSnapshot({
      client,
      config: this.config,
      broker: this.context.broker,
      positions: this.context.positions,
      reset: reset !== null,
      mirror: this.#mirror,
      onProgress: (progress) => {
        this.#snapshot = { ...progress };
      },
      stopped: () => !this.#running,
    });
    if (result === null) return false;
    for (const shape of result.shapes) {
      this.#keys.set(shape.table, shape.keyColumns);
      this.#schemas.set(shape.table, shape.columns.map((c) => c.name).join(','));
    }
    this.#forceReset = null;
    this.#durable = parseLsn(result.lsn);
    this.#records += result.rows;
    return true;
  }

  // ---- the stream -----------------------------------------------------------------------------

  async #stream(): Promise<void> {
    const { LogicalReplicationService, PgoutputPlugin } = await loadLogicalReplication();
    const service = new LogicalReplicationService(
      { connectionString: this.config.connectionString },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [this.config.publication] });
    this.#service = service;
    this.#txn = null;
    this.#pending = [];
    this.#pendingRecords = 0;
    this.#cancelQuiet();
    try {
      await new Promise<void>((resolve, reject) => {
        // Paused or stopped while the snapshot finished: #halt has already passed, so no stream.
        if (!this.#running) return resolve();
        this.#endStream = resolve;
        service.on('data', (_lsn: string, message: Pgoutput.Message) => this.#onMessage(message));
        service.on('heartbeat', (lsn: string, _time: number, shouldRespond: boolean) => {
          if (this.#idle(service)) this.#onQuiet(parseLsn(lsn));
          if (shouldRespond) this.#acknowledge();
        });
        service.on('start', () => {
          this.#set('running');
          this.#acknowledge();
        });
        service.on('error', reject);
        const from = this.#durable === null ? '0/0' : formatLsn(this.#durable);
        service.subscribe(plugin, this.config.slot, from).then(() => resolve(), reject);
      });
    } finally {
      this.#endStream = null;
      this.#service = null;
      // end() of a connection the server already closed never settles: bounded.
      await bounded(service.destroy());
      this.#txn = null;
      // Committed transactions already received are written before the stream starts again.
      await this.#flush().catch(() => undefined);
    }
    if (this.#running)
      throw new TributaryError('CONNECTION_LOST', { reason: 'the replication stream ended' });
  }

  async #onMessage(message: Pgoutput.Message): Promise<void> {
    switch (message.tag) {
      case 'begin':
        this.#txn = [];
        return;
      case 'relation':
        this.#onRelation(message);
        return;
      case 'insert': {
        const table = tableOf(message.relation);
        const after = rowJson(message.new);
        this.#txn?.push({
          key: rowKey(this.#keyColumns(message.relation), after),
          value: { op: 'c', table, before: null, after },
        });
        return;
      }
      case 'update': {
        const table = tableOf(message.relation);
        const keyColumns = this.#keyColumns(message.relation);
        const before = rowJson(message.old ?? message.key);
        const after = rowJson(message.new);
        const key = rowKey(keyColumns, after);
        const oldKey = before === null ? null : rowKey(keyColumns, before);
        if (oldKey !== null && key !== null && !sameBytes(oldKey, key)) {
          // The key changed: the old row is gone, a new one exists.
          this.#txn?.push({ key: oldKey, value: { op: 'd', table, before, after: null } });
          this.#txn?.push({ key, value: { op: 'c', table, before: null, after } });
        } else {
          this.#txn?.push({ key, value: { op: 'u', table, before, after } });
        }
        return;
      }
      case 'delete': {
        const table = tableOf(message.relation);
        const before = rowJson(message.old ?? message.key);
        this.#txn?.push({
          key: rowKey(this.#keyColumns(message.relation), before),
          value: { op: 'd', table, before, after: null },
        });
        return;
      }
      case 'truncate':
        for (const relation of message.relations)
          this.#txn?.push({ key: null, value: { op: 't', table: tableOf(relation) } });
        return;
      case 'commit':
        await this.#onCommit(message);
        return;
      default:
        return;
    }
  }

  /**
   * True when every message the stream received so far has been handled and no transaction is
   * open. The replication client queues messages and hands them over one at a time, while a
   * keepalive is announced as soon as it arrives: a message still queued was sent before it.
   * A client without that queue (another version) counts as never idle, so nothing is confirmed
   * past the last change.
   */
  #idle(service: LogicalReplicationService): boolean {
    const inside = service as unknown as { _messageQueue?: unknown; _processing?: unknown };
    return (
      this.#txn === null &&
      Array.isArray(inside._messageQueue) &&
      inside._messageQueue.length === 0 &&
      inside._processing === false
    );
  }

  /**
   * A keepalive at `lsn` while idle: stored and confirmed once what is pending is durable, at
   * most once per QUIET_CONFIRM_INTERVAL_MS. One arriving sooner is kept and stored when the
   * interval is up, not dropped: Postgres sends no further keepalive until the last one is
   * answered or half of `wal_sender_timeout` has passed, so a dropped one would hold the slot
   * (and the WAL behind it) for up to 30 s by default.
   */
  #onQuiet(lsn: bigint): void {
    if (this.#durable === null || lsn <= this.#durable) return;
    if (this.#quiet === null || lsn > this.#quiet) this.#quiet = lsn;
    const wait = QUIET_CONFIRM_INTERVAL_MS - (Date.now() - this.#quietStoredAt);
    if (wait <= 0) {
      this.#flush().catch(() => undefined);
      return;
    }
    if (this.#quietTimer !== null) return;
    this.#quietTimer = setTimeout(() => {
      this.#quietTimer = null;
      this.#flush().catch(() => undefined);
    }, wait);
    this.#quietTimer.unref();
  }

  #cancelQuiet(): void {
    if (this.#quietTimer !== null) clearTimeout(this.#quietTimer);
    this.#quietTimer = null;
    this.#quiet = null;
  }

  #keyColumns(relation: Pgoutput.MessageRelation): readonly string[] {
    return this.#keys.get(tableOf(relation)) ?? relation.keyColumns;
  }

  /** A relation whose columns differ from the last ones written: a `schema` record in its transaction. */
  #onRelation(relation: Pgoutput.MessageRelation): void {
    const table = tableOf(relation);
    const signature = relation.columns.map((c) => c.name).join(',');
    if (this.#schemas.get(table) === signature) return;
    this.#schemas.set(table, signature);
    const keys = this.#keyColumns(relation);
    const columns = relation.columns.map((c) => ({
      name: c.name,
      type: c.typeName ?? `oid:${c.typeOid}`,
      key: keys.includes(c.name),
    }));
    this.#txn?.push({ key: null, value: { op: 'schema', table, columns } });
  }

  async #onCommit(message: Pgoutput.MessageCommit): Promise<void> {
    const changes = this.#txn ?? [];
    this.#txn = null;
    if (message.commitEndLsn === null) return;
    const end = parseLsn(message.commitEndLsn);
    // Already stored before a restart: Postgres resends from its confirmed position.
    if (this.#durable !== null && end <= this.#durable) return;
    const lsn = formatLsn(end);
    // The decoder gives microseconds since the Unix epoch (it adds Postgres's 2000 epoch itself).
    const commitTime = new Date(Number(BigInt(message.commitTime as bigint) / 1000n)).toISOString();
    const values: ChangeValue[] = changes.map(({ value }) => ({ ...value, lsn, commitTime }));
    const records = changes.map(({ key }, i) => changeRecord(key, values[i] as ChangeValue));
    const mirrored =
      this.#mirror === null
        ? []
        : values.map((value) => ({ keyColumns: this.#keys.get(value.table ?? '') ?? [], value }));
    this.#pending.push({ records, mirrored, end });
    this.#pendingRecords += records.length;
    const flushing = this.#flush();
    if (this.#pendingRecords > this.config.batchRecordsMax * PENDING_FACTOR) await flushing;
    else flushing.catch(() => undefined);
  }

  /** Writes the committed transactions received so far, whole, each call's with its position. */
  #flush(): Promise<void> {
    if (this.#flushing !== null) return this.#flushing;
    if (this.#pending.length === 0 && this.#quiet === null) return Promise.resolve();
    let flushing: Promise<void> | null = null;
    flushing = (async () => {
      // Starts after the assignment below, so the `finally` clears this very flush.
      await Promise.resolve();
      try {
        do {
          await this.#writePending();
          // A commit that arrived while the quiet position was stored is written by the next turn.
          await this.#storeQuiet();
        } while (this.#pending.length > 0);
      } catch (error) {
        // Not written: the stream starts again from the stored position, which Postgres still holds.
        this.#pending = [];
        this.#pendingRecords = 0;
        this.#quiet = null;
        this.context.logger.warn({ err: error }, 'postgres-cdc: writing changes failed');
        this.#stopStream();
        throw error;
      } finally {
        if (this.#flushing === flushing) this.#flushing = null;
      }
    })();
    this.#flushing = flushing;
    return flushing;
  }

  /** Writes the pending committed transactions, whole, in atomic commits of about `batchRecordsMax`. */
  async #writePending(): Promise<void> {
    while (this.#pending.length > 0) {
      const take: CommittedTxn[] = [];
      let count = 0;
      while (
        this.#pending.length > 0 &&
        (take.length === 0 || count + (this.#pending[0]?.records.length ?? 0) <= this.config.batchRecordsMax)
      ) {
        const txn = this.#pending.shift() as CommittedTxn;
        take.push(txn);
        count += txn.records.length;
      }
      const end = (take.at(-1) as CommittedTxn).end;
      const records = take.flatMap((t) => t.records);
      // The mirror first: a crash before the commit below sends these again (idempotent puts).
      await this.#mirror?.apply(take.flatMap((t) => t.mirrored));
      await this.context.broker.commitAtomically({
        appends: [
          ...(records.length === 0 ? [] : [{ topic: this.config.topic, records }]),
          this.context.positions.append(formatLsn(end)),
        ],
      });
      this.#durable = end;
      this.#records += records.length;
      this.#pendingRecords -= records.length;
      this.#acknowledge();
    }
  }

  /**
   * Stores the quiet keepalive position (everything captured before it is durable by now: the
   * pending transactions were written first) and confirms it. A transaction received meanwhile
   * ends past it and leaves it for its own commit.
   */
  async #storeQuiet(): Promise<void> {
    const quiet = this.#quiet;
    this.#quiet = null;
    if (quiet === null || this.#durable === null || quiet <= this.#durable || this.#pending.length > 0)
      return;
    await this.context.positions.save(formatLsn(quiet));
    this.#quietStoredAt = Date.now();
    if (this.#durable !== null && quiet > this.#durable) this.#durable = quiet;
    this.#acknowledge();
  }

  /** Ends the running stream (the loop then starts it again, or resets), even if its close hangs. */
  #stopStream(): void {
    const end = this.#endStream;
    void bounded(this.#service?.stop()).then(() => end?.());
  }

  /** Tells Postgres the durable position (standby status update): WAL before it may be recycled. */
  #acknowledge(): void {
    if (this.#service === null || this.#durable === null || this.#durable === 0n) return;
    // pg-logical-replication sends the LSN it is given plus one (it takes "the last byte
    // received"), while the durable position, a commit's end LSN, is already "last byte + 1".
    // Without the minus one the slot would confirm a byte past what is stored, and a transaction
    // whose commit record starts exactly there would be skipped by Postgres after a crash.
    void this.#service.acknowledge(formatLsn(this.#durable - 1n)).catch(() => undefined);
  }

  async #pollLag(): Promise<void> {
    if (this.#state === 'snapshotting' || this.#state === 'stopped') return;
    try {
      const client = await this.#connect();
      const slot = await slotState(client, this.config.slot);
      if (slot === null || slot.walStatus === 'lost') {
        if (this.#durable !== null && this.#running && this.#state === 'running') {
          this.#forceReset =
            slot === null
              ? `replication slot "${this.config.slot}" is gone`
              : `replication slot "${this.config.slot}" was invalidated (wal_status lost)`;
          this.#stopStream();
        }
        return;
      }
      this.#lag = slot.lagBytes;
      const over = slot.lagBytes !== null && slot.lagBytes > this.config.lagAlarmBytes;
      if (over && this.#alarm === undefined) {
        this.#alarm = {
          reason: `slot lag ${slot.lagBytes} bytes is over lagAlarmBytes ${this.config.lagAlarmBytes}`,
        };
        this.context.logger.warn(
          { lag: slot.lagBytes, limit: this.config.lagAlarmBytes },
          'postgres-cdc: slot lag alarm',
        );
        this.context.onStatus(this.status());
      } else if (!over && this.#alarm !== undefined) {
        this.#alarm = undefined;
        this.context.onStatus(this.status());
      }
    } catch {
      // Postgres unreachable: the stream's own retries report it.
    }
  }
}

function tableOf(relation: { schema: string; name: string }): string {
  return `${relation.schema}.${relation.name}`;
}

/** Waits for `promise` at most `ms`, ignoring its outcome. */
async function bounded(promise: Promise<unknown> | undefined, ms = 2_000): Promise<void> {
  if (promise === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
