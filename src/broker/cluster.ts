/**
 * @module broker/cluster
 * What the gateways that share one log know of each other (docs/scale-out.md, "Consumer groups
 * across gateways"): which gateways are alive and where their Kafka listeners are, which gateway
 * coordinates each consumer group, and a request/reply channel between gateways.
 *
 * The broker and the front ends see only this interface; the JetStream engine provides it
 * (`log/jetstream/gateways.ts`). Without one (a single server), every group is coordinated here.
 */

/** One live gateway as the others see it. */
export interface GatewayInfo {
  /** Random id, new at every start. */
  readonly id: string;
  /** The gateway's Kafka broker id (unique among live gateways). */
  readonly nodeId: number;
  /** Where Kafka clients reach the gateway; null: it has no Kafka listener. */
  readonly kafka: { readonly host: string; readonly port: number } | null;
}

/** One entry of a `SharedTable`: its value and the revision that wrote it. */
export interface SharedEntry {
  readonly value: Uint8Array;
  readonly revision: number;
}

/**
 * A small table every gateway reads and writes (a JetStream KV bucket), for state that must
 * outlive the gateway that wrote it or be changed by one gateway at a time: each write names the
 * revision it replaces, so of two gateways writing over the same revision only one succeeds.
 */
export interface SharedTable {
  /** The entry of `key`, or null with the revision to write over (0: never written; else its deletion). */
  get(key: string): Promise<SharedEntry | { readonly value: null; readonly revision: number }>;
  /** Writes `value` if `key` is still at `revision`: the new revision, or null when it moved on. */
  swap(key: string, value: Uint8Array, revision: number): Promise<number | null>;
  /** Deletes `key` if it is still at `revision`: whether this call deleted it. */
  remove(key: string, revision: number): Promise<boolean>;
  /** Calls `listener` with every entry now there, then with each change (value null: deleted), until stopped. */
  watch(listener: (key: string, entry: SharedEntry | null) => void): Promise<() => void>;
}

/**
 * Writes `value` over whatever `key` holds, reading it again when another write came between the
 * read and the write, at most `attempts` times: the revision written and the value it replaced,
 * or null when every attempt was overtaken (each time by another writer's success).
 */
export async function writeOverNewest(
  table: SharedTable,
  key: string,
  value: Uint8Array,
  attempts: number,
): Promise<{ readonly revision: number; readonly replaced: Uint8Array | null } | null> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const current = await table.get(key);
    const revision = await table.swap(key, value, current.revision);
    if (revision !== null) return { revision, replaced: current.value };
  }
  return null;
}

/** Answers a request another gateway sent to this one; throw a `TributaryError` to refuse it. */
export type GatewayRequestHandler = (body: unknown) => Promise<unknown>;

export interface GatewayCluster {
  readonly self: GatewayInfo;
  /** Gateways seen alive, this one included, ordered by node id. */
  gateways(): readonly GatewayInfo[];
  /** Announces this gateway's Kafka listener (once it listens). */
  setKafkaAddress(host: string, port: number): Promise<void>;
  /**
   * The gateway that coordinates `groupId`: the holder of the group's lease, or, when there is
   * none or its holder is gone, whoever wins the compare-and-set that takes it over (maybe this one).
   */
  coordinatorOf(groupId: string): Promise<GatewayInfo>;
  /**
   * The gateway that coordinates the Kafka transactional id `transactionalId`, chosen the same
   * way as a group's (its own lease).
   */
  transactionCoordinatorOf(transactionalId: string): Promise<GatewayInfo>;
  /** Called when this gateway stops coordinating a group (another one took its lease). */
  onCoordinationLost(listener: (groupId: string) => void): void;
  /**
   * The gateway holding the lease on `resource`, something that must run on one gateway at a time
   * (`connector/<name>`), with the rules of `coordinatorOf`: taken by compare-and-set when there
   * is none or its holder is gone, held as long as the holder is alive.
   */
  leaseHolderOf(resource: string): Promise<GatewayInfo>;
  /** Called when this gateway loses the lease on a resource (another one took it). */
  onLeaseLost(listener: (resource: string) => void): void;
  /** Gives up this gateway's lease on `resource`, if it holds it (the resource is gone). */
  releaseLease(resource: string): Promise<void>;
  /** Sends a request to a gateway's handler for `method`; rejects with the error it threw. */
  request(gatewayId: string, method: string, body: unknown, timeoutMs?: number): Promise<unknown>;
  /** Answers `method` requests from other gateways. */
  handle(method: string, handler: GatewayRequestHandler): void;
  /**
   * Like `request`, with body and answer in MessagePack (compact, binary-safe), for requests on a
   * write's path (a strong collection's forwarded writes). A request that reached no handler at
   * all (the gateway is gone) rejects with `GATEWAY_UNREACHABLE`: it was not delivered, so it can
   * be sent again; `TIMEOUT` and `CONNECTION_LOST` mean it may have been.
   */
  requestPacked(gatewayId: string, method: string, body: unknown, timeoutMs?: number): Promise<unknown>;
  /** Answers `method` requests sent with `requestPacked`. */
  handlePacked(method: string, handler: GatewayRequestHandler): void;
  /** The shared table `name` (letters, digits, `_`), created on first use. */
  table(name: string): Promise<SharedTable>;
  close(): Promise<void>;
}
