/**
 * @module sync/partition-leader
 * Routes a strong collection's writes, per partition, to one gateway when several share one log
 * (docs/scale-out.md, "Strong collections across gateways"). Writers on two gateways would race
 * for the partition's compare-and-set (`expectedLastOffset`), and every lost race costs a
 * catch-up and another JetStream round trip; with one leader per partition they queue in one
 * sequencer and share its appends instead.
 *
 * - Leadership is a lease (`collection/<name>/<incarnation>/<partition>`) of the gateways' lease
 *   bucket (`GatewayCluster.leaseHolderOf`, as connectors use): claimed by the first gateway that
 *   writes the partition, held while that gateway is alive, taken over by compare-and-set by the
 *   next writer once its holder is dead (not heard of for the gateway TTL).
 * - A gateway that does not lead forwards the transaction (one or more writes of one partition,
 *   which is all a transaction may touch) to the leader over NATS request/reply, MessagePack body
 *   (`requestPacked`). The leader checks that it still holds the lease and runs it through its
 *   sequencer, which still appends with `expectedLastOffset`: the compare-and-set stays the guard,
 *   so a deposed leader's append fails instead of overwriting.
 * - Retried, because nothing was done: the leader was unreachable (`GATEWAY_UNREACHABLE`: no
 *   subscriber, e.g. its process is gone), refused (`NOT_PARTITION_LEADER`) or was shutting down
 *   before the write was queued; each retry looks the lease up again (taking it over once the
 *   holder is dead), for up to `leaderWaitMs`. Not retried, because it may have been applied:
 *   a forward without an answer (`TIMEOUT`, `CONNECTION_LOST`) becomes `WRITE_OUTCOME_UNKNOWN`,
 *   so a write is never applied twice.
 *
 * @example
 * const leaders = new PartitionLeaders({ cluster, leaderWaitMs: 20_000 });
 * const result = await leaders.transact({ name, incarnation }, partition, request, () => local());
 */
import type { GatewayCluster } from '../broker/cluster.js';
import { isPlainObject } from '../crdt/json.js';
import { isTributaryError, TributaryError } from '../errors.js';
import type { TransactRequest, TransactResult } from './types.js';

/** The request method of forwarded transactions (one subject token: no dots). */
const TRANSACT_METHOD = 'collectionTransact';
/** Pause between attempts while no leader is reachable, doubling up to `RETRY_PAUSE_MAX_MS`. */
const RETRY_PAUSE_MS = 25;
const RETRY_PAUSE_MAX_MS = 500;

export interface PartitionLeadersOptions {
  readonly cluster: GatewayCluster;
  /**
   * How long a write waits for a reachable leader, its holder's failover included (more than
   * the gateway TTL). Default 30 000 ms.
   */
  readonly leaderWaitMs?: number;
  /** How long a forwarded write waits for the leader's answer before its outcome is unknown. Default 15 000 ms. */
  readonly forwardTimeoutMs?: number;
  /** Told of each write forwarded to a leader that received it, and of each one led here for another gateway. */
  readonly onForwarded?: () => void;
  readonly onLedForOther?: () => void;
}

/** What a leader needs to run a forwarded transaction: the open collection's local path. */
export interface LocalCollection {
  readonly incarnation: string;
  partitionOf(key: string): number;
  /** Runs the transaction through this gateway's sequencer of `partition` (no routing). */
  transactHere(partition: number, request: TransactRequest): Promise<TransactResult>;
}

export interface CollectionRef {
  readonly name: string;
  readonly incarnation: string;
}

export class PartitionLeaders {
  readonly #cluster: GatewayCluster;
  readonly #leaderWaitMs: number;
  readonly #forwardTimeoutMs: number;
  readonly #onForwarded: () => void;
  readonly #onLedForOther: () => void;

  constructor(options: PartitionLeadersOptions) {
    this.#cluster = options.cluster;
    this.#leaderWaitMs = options.leaderWaitMs ?? 30_000;
    this.#forwardTimeoutMs = options.forwardTimeoutMs ?? 15_000;
    this.#onForwarded = options.onForwarded ?? (() => undefined);
    this.#onLedForOther = options.onLedForOther ?? (() => undefined);
  }

  /** Answers other gateways' forwarded transactions with the collections `lookup` finds open here. */
  serve(lookup: (name: string) => LocalCollection): void {
    this.#cluster.handlePacked(TRANSACT_METHOD, async (body) => {
      const { collection, incarnation, partition, request } = parseForwarded(body);
      const local = lookup(collection);
      if (local.incarnation !== incarnation) throw new TributaryError('COLLECTION_NOT_FOUND', { collection });
      if (!(await this.#leads({ name: collection, incarnation }, partition)))
        throw new TributaryError('NOT_PARTITION_LEADER', { collection, partition });
      this.#onLedForOther();
      return local.transactHere(partition, request);
    });
  }

  /** Runs `request` on partition `partition` where the partition's writes are led: `here`, or forwarded. */
  async transact(
    collection: CollectionRef,
    partition: number,
    request: TransactRequest,
    here: () => Promise<TransactResult>,
  ): Promise<TransactResult> {
    const deadline = performance.now() + this.#leaderWaitMs;
    let pause = RETRY_PAUSE_MS;
    for (;;) {
      const leader = await this.#cluster.leaseHolderOf(resourceOf(collection, partition));
      if (leader.id === this.#cluster.self.id) return here();
      try {
        const body = {
          collection: collection.name,
          incarnation: collection.incarnation,
          partition,
          request,
        };
        const answer = await this.#cluster.requestPacked(
          leader.id,
          TRANSACT_METHOD,
          body,
          this.#forwardTimeoutMs,
        );
        this.#onForwarded();
        return answer as TransactResult;
      } catch (error) {
        if (!notDone(error)) this.#onForwarded();
        if (isTributaryError(error, 'TIMEOUT') || isTributaryError(error, 'CONNECTION_LOST')) {
          throw new TributaryError(
            'WRITE_OUTCOME_UNKNOWN',
            {
              collection: collection.name,
              partition,
              reason: `it was forwarded to gateway ${leader.id}, which leads the partition, and no answer came (${error.message})`,
            },
            { cause: error },
          );
        }
        if (!notDone(error) || performance.now() + pause > deadline) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, RETRY_PAUSE_MAX_MS);
    }
  }

  /** Gives up this gateway's leases of `collection`'s partitions (it was deleted). */
  async release(collection: CollectionRef, partitions: number): Promise<void> {
    for (let partition = 0; partition < partitions; partition++)
      await this.#cluster.releaseLease(resourceOf(collection, partition));
  }

  async #leads(collection: CollectionRef, partition: number): Promise<boolean> {
    const holder = await this.#cluster.leaseHolderOf(resourceOf(collection, partition));
    return holder.id === this.#cluster.self.id;
  }
}

/** Refusals of a forwarded write that say it was not applied, so it may be sent again. */
function notDone(error: unknown): boolean {
  return (
    isTributaryError(error, 'GATEWAY_UNREACHABLE') ||
    isTributaryError(error, 'NOT_PARTITION_LEADER') ||
    isTributaryError(error, 'SHUTTING_DOWN')
  );
}

function resourceOf(collection: CollectionRef, partition: number): string {
  return `collection/${collection.name}/${collection.incarnation}/${partition}`;
}

/** A forwarded transaction as the leader receives it; its ops are checked again by the planner. */
function parseForwarded(body: unknown): {
  collection: string;
  incarnation: string;
  partition: number;
  request: TransactRequest;
} {
  const bad = (reason: string): TributaryError =>
    new TributaryError('MALFORMED_DATA', { what: 'forwarded collection write', reason });
  if (!isPlainObject(body)) throw bad('not a map');
  const { collection, incarnation, partition, request } = body;
  if (typeof collection !== 'string' || typeof incarnation !== 'string') throw bad('no collection');
  if (typeof partition !== 'number' || !Number.isSafeInteger(partition) || partition < 0)
    throw bad('no partition');
  if (!isPlainObject(request) || !Array.isArray(request.ops)) throw bad('no ops');
  return { collection, incarnation, partition, request: request as unknown as TransactRequest };
}
