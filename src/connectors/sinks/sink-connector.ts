/**
 * @module connectors/sinks/sink-connector
 * The runner every sink shares: a `Connector` that joins a consumer group on the sink's topics
 * and keeps one `PartitionWorker` per assigned partition, so several sinks of one group (in one
 * server or several) share the partitions and a rebalance moves them. After each applied batch
 * the group's offset is committed too: for targets that keep their own positions it only feeds
 * lag and `GET /v1/groups`; for the webhook sink it is the position.
 *
 * @example
 * const connector = createSinkConnector(spec, common, target, context, 'postgres-sink');
 * await connector.start();
 */
import type { GroupAssignment, GroupMembership } from '../../broker/types.js';
import type {
  Connector,
  ConnectorContext,
  ConnectorSpec,
  ConnectorState,
  ConnectorStatus,
} from '../types.js';
import { type DeadLetters, deadLetters } from './dead-letter.js';
import { describeError, PartitionWorker } from './partition-worker.js';
import type { SinkCommonConfig } from './sink-config.js';
import { positionKey, type SinkTarget } from './sink-target.js';

/** How often a member heartbeats, at most (a third of the session timeout when that is shorter). */
const HEARTBEAT_INTERVAL_MS_MAX = 3000;

export function sinkGroupId(spec: ConnectorSpec, common: SinkCommonConfig): string {
  return common.groupId ?? `connector.${spec.name}`;
}

/**
 * Whose positions a sink reads and writes in its target: its group's, so that a partition
 * handed from one member to another goes on from the same stored position (positions kept per
 * connector would let the new member apply again what the old one already had). A group named
 * `connector.<name>` (every sink's default) owns them as `<name>`, the form they have always
 * been stored in; any other group as `group:<groupId>`, which no connector name can be (names
 * have no `:`).
 */
export function sinkPositionOwner(spec: ConnectorSpec, common: SinkCommonConfig): string {
  const group = sinkGroupId(spec, common);
  return group.startsWith('connector.') ? group.slice('connector.'.length) : `group:${group}`;
}

/**
 * True when deleting this sink may remove its positions from the target: it is in its own
 * default group. With an explicit `groupId` other members may still need them.
 */
export function sinkOwnsItsPositions(common: SinkCommonConfig): boolean {
  return common.groupId === undefined;
}

export function createSinkConnector(
  spec: ConnectorSpec,
  common: SinkCommonConfig,
  target: SinkTarget,
  context: ConnectorContext,
  deadLetterTopic?: string,
): Connector {
  const letters =
    deadLetterTopic === undefined ? undefined : deadLetters(context.broker, deadLetterTopic, spec.name);
  return new SinkConnector(spec, common, target, context, letters);
}

class SinkConnector implements Connector {
  readonly #spec: ConnectorSpec;
  readonly #common: SinkCommonConfig;
  readonly #target: SinkTarget;
  readonly #context: ConnectorContext;
  readonly #groupId: string;
  readonly #deadLetters: DeadLetters | undefined;
  readonly #workers = new Map<string, PartitionWorker>();
  #membership: GroupMembership | undefined;
  #generation = 0;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  /** Assignments are applied one at a time, in the order they arrive. */
  #assignments: Promise<void> = Promise.resolve();
  #state: ConnectorState = 'starting';
  #error: { readonly code: string; readonly message: string } | undefined;
  #records = 0;
  /** Dead letters of workers since closed (a rebalance or pause ends a worker, not its count). */
  #deadLettered = 0;
  #opened = false;
  #stopped = false;

  constructor(
    spec: ConnectorSpec,
    common: SinkCommonConfig,
    target: SinkTarget,
    context: ConnectorContext,
    letters: DeadLetters | undefined,
  ) {
    this.#deadLetters = letters;
    this.#spec = spec;
    this.#common = common;
    this.#target = target;
    this.#context = context;
    this.#groupId = sinkGroupId(spec, common);
    context.signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  async start(): Promise<void> {
    await this.#openTarget();
    if (this.#stopped || this.#state === 'failed') return;
    await this.#join();
  }

  async pause(): Promise<void> {
    if (this.#stopped || this.#state === 'paused') return;
    this.#state = 'paused';
    await this.#leave();
    this.#report();
  }

  async resume(): Promise<void> {
    if (this.#stopped || this.#state !== 'paused') return;
    this.#state = 'starting';
    this.#report();
    if (!this.#opened) await this.#openTarget();
    if (!this.#stopped) await this.#join();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#leave();
    this.#state = 'stopped';
    await this.#target.close().catch(() => undefined);
    this.#report();
  }

  status(): ConnectorStatus {
    const workers = [...this.#workers.values()].sort(
      (a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition,
    );
    const positions = workers.filter((worker) => worker.position !== null);
    let lag: number | null = positions.length === 0 ? null : 0;
    for (const worker of positions) {
      if (lag !== null && worker.highWatermark !== null && worker.position !== null) {
        lag += Math.max(0, worker.highWatermark - worker.position);
      }
    }
    const worst = this.#worstWorker(workers);
    const error = worst?.error ?? this.#error;
    return {
      name: this.#spec.name,
      type: this.#spec.type,
      kind: 'sink',
      state: this.#state === 'running' && worst !== undefined ? worst.state : this.#state,
      position:
        positions.length === 0
          ? null
          : positions
              .map((worker) => `${positionKey(worker.topic, worker.partition)}:${worker.position}`)
              .join(','),
      lag,
      records: this.#records,
      ...(this.#deadLetters === undefined
        ? {}
        : {
            deadLettered: this.#deadLettered + workers.reduce((sum, worker) => sum + worker.deadLettered, 0),
          }),
      ...(error === undefined ? {} : { error }),
    };
  }

  /** The partition in the worst state (failed, then retrying), if any is not running. */
  #worstWorker(workers: readonly PartitionWorker[]): PartitionWorker | undefined {
    return (
      workers.find((worker) => worker.state === 'failed') ??
      workers.find((worker) => worker.state === 'retrying')
    );
  }

  async #openTarget(): Promise<void> {
    for (let failures = 0; !this.#stopped; failures++) {
      try {
        await this.#target.open();
        await this.#deadLetters?.open();
        this.#opened = true;
        this.#error = undefined;
        return;
      } catch (error) {
        this.#error = describeError(error);
        if (this.#target.isPermanent(error)) {
          this.#state = 'failed';
          this.#report();
          return;
        }
        this.#state = 'retrying';
        this.#report();
        this.#context.logger.warn(
          { connector: this.#spec.name, err: error },
          'sink target unavailable; retrying',
        );
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(10_000, 100 * 2 ** Math.min(failures, 7))),
        );
      }
    }
  }

  async #join(): Promise<void> {
    this.#state = 'running';
    // The first assignment can arrive before joinGroup resolves: assignments wait for the membership.
    let joined = (): void => undefined;
    const membershipKnown = new Promise<void>((resolve) => {
      joined = resolve;
    });
    try {
      this.#membership = await this.#context.broker.joinGroup({
        groupId: this.#groupId,
        topics: this.#common.topics,
        sessionTimeoutMs: this.#common.sessionTimeoutMs,
        onAssignment: (assignment) => {
          this.#assignments = this.#assignments
            .then(() => membershipKnown)
            .then(() => this.#assign(assignment));
        },
      });
    } finally {
      joined();
    }
    const interval = Math.min(HEARTBEAT_INTERVAL_MS_MAX, Math.floor(this.#common.sessionTimeoutMs / 3));
    this.#heartbeat = setInterval(() => this.#membership?.heartbeat(), interval);
    this.#heartbeat.unref();
    this.#report();
  }

  async #leave(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    const membership = this.#membership;
    this.#membership = undefined;
    await membership?.leave().catch(() => undefined);
    await this.#assignments;
    await Promise.all([...this.#workers.values()].map((worker) => worker.close()));
    for (const worker of this.#workers.values()) this.#deadLettered += worker.deadLettered;
    this.#workers.clear();
  }

  async #assign(assignment: GroupAssignment): Promise<void> {
    if (this.#membership === undefined || assignment.memberId !== this.#membership.memberId) return;
    this.#generation = assignment.generation;
    const wanted = new Set(assignment.partitions.map((tp) => positionKey(tp.topic, tp.partition)));
    const revoked = [...this.#workers].filter(([key]) => !wanted.has(key));
    await Promise.all(revoked.map(([, worker]) => worker.close()));
    for (const [key, worker] of revoked) {
      this.#deadLettered += worker.deadLettered;
      this.#workers.delete(key);
    }
    for (const tp of assignment.partitions) {
      const key = positionKey(tp.topic, tp.partition);
      if (this.#workers.has(key)) continue;
      const worker = new PartitionWorker(tp, {
        broker: this.#context.broker,
        target: this.#target,
        logger: this.#context.logger,
        groupId: this.#groupId,
        batchRecordsMax: this.#common.batchRecordsMax,
        startFrom: this.#common.startFrom,
        ...(this.#deadLetters === undefined ? {} : { deadLetters: this.#deadLetters }),
        onApplied: (applied, records) => this.#onApplied(applied, records),
        onChange: () => this.#report(),
      });
      this.#workers.set(key, worker);
      worker.start();
    }
    this.#report();
  }

  #onApplied(worker: PartitionWorker, records: number): void {
    this.#records += records;
    const membership = this.#membership;
    if (membership !== undefined && worker.position !== null) {
      this.#context.broker
        .commitOffsets(this.#groupId, membership.memberId, this.#generation, [
          { topic: worker.topic, partition: worker.partition, offset: worker.position },
        ])
        .catch((error: unknown) =>
          this.#context.logger.debug(
            { err: error, connector: this.#spec.name },
            'group offset commit refused',
          ),
        );
    }
    this.#report();
  }

  #report(): void {
    this.#context.onStatus(this.status());
  }
}
