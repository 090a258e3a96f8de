/**
 * @module log/jetstream/gateways
 * The gateways sharing one JetStream log, as each of them sees the others (docs/scale-out.md,
 * "Consumer groups across gateways"):
 *
 * - Registry: KV bucket `<namespace>_gateways`, one entry per live gateway (its id, Kafka broker
 *   id and Kafka address), rewritten every `ttlMs / 4`. The bucket's `max_age` is `ttlMs`, so a
 *   dead gateway's entry disappears; each gateway also watches the bucket and takes a gateway
 *   whose entry was not rewritten for `ttlMs` for dead (JetStream does not announce expiries).
 * - Coordinators: KV bucket `<namespace>_group_coordinators`, one lease per consumer group
 *   (`g.<id>`) and per Kafka transactional id (`t.<id>`) naming the gateway that coordinates it. A lease is taken with a compare-and-set (`create` when there
 *   is none, `update` at the read revision when its holder is dead), so two gateways never both
 *   win it; a watch tells every gateway who holds which lease, and tells a holder that lost one.
 *   The same bucket holds leases on other things that must run on one gateway at a time
 *   (`leaseHolderOf`: a connector), under keys of their own (`r.…`), with the same rules.
 * - Requests between gateways: core NATS request/reply on `<namespace>.gw.<gateway id>.<method>`,
 *   JSON bodies, and on `<namespace>.gwp.<gateway id>.<method>` with MessagePack bodies (the
 *   native protocol's codec: smaller and faster for requests on a write's path); a
 *   `TributaryError` thrown by the handler is rethrown at the caller.
 *
 * @example
 * const gateways = await JetStreamGateways.open({ connection: log.connection, namespace: 'tributary', replicas: 1 });
 * const coordinator = await gateways.coordinatorOf('billing');
 */
import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type KV, type KvEntry, type NatsConnection, StorageType, type Subscription } from 'nats';
import type { SharedTable } from '../../broker/cluster.js';
import { ERROR_CATALOGUE, type ErrorCode, type ErrorDetails, TributaryError } from '../../errors.js';
import { decodeMsgpack } from '../../protocol/native/msgpack-decode.js';
import { encodeMsgpack } from '../../protocol/native/msgpack-encode.js';
import { KvSharedTable } from './shared-table.js';

export interface GatewayAddress {
  readonly id: string;
  readonly nodeId: number;
  readonly kafka: { readonly host: string; readonly port: number } | null;
}

export interface JetStreamGatewaysOptions {
  readonly connection: NatsConnection;
  /** The log's namespace (bucket and subject prefix). */
  readonly namespace: string;
  readonly replicas: number;
  /** A gateway not heard of for this long is dead (its leases can be taken). Default 10 s. */
  readonly ttlMs?: number;
  /** Told about background failures (a heartbeat that could not be written). */
  readonly onError?: (error: unknown, what: string) => void;
}

interface Seen {
  readonly address: GatewayAddress;
  /** `performance.now()` when its entry was last written, as far as this gateway knows. */
  seenAt: number;
}

interface Lease {
  readonly owner: string;
  readonly revision: number;
}

type Reply =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly code: string; readonly details: ErrorDetails };

const DEFAULT_TTL_MS = 10_000;
const TAKE_OVER_ATTEMPTS = 8;
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How one family of requests between gateways encodes bodies and replies. */
interface Channel {
  /** Subject segment after the namespace. */
  readonly prefix: string;
  readonly encode: (value: unknown) => Uint8Array;
  readonly decode: (data: Uint8Array) => unknown;
  readonly handlers: Map<string, (body: unknown) => Promise<unknown>>;
  /** Whether a request nobody subscribes to is told apart (`GATEWAY_UNREACHABLE`). */
  readonly unreachable: boolean;
}

function jsonChannel(): Channel {
  return {
    prefix: 'gw',
    encode: (value) => encoder.encode(JSON.stringify(value)),
    decode: (data) => JSON.parse(decoder.decode(data)) as unknown,
    handlers: new Map(),
    unreachable: false,
  };
}

function packedChannel(): Channel {
  return {
    prefix: 'gwp',
    encode: encodeMsgpack,
    decode: (data) => decodeMsgpack(data, true),
    handlers: new Map(),
    unreachable: true,
  };
}

export class JetStreamGateways {
  private readonly seen = new Map<string, Seen>();
  private readonly leases = new Map<string, Lease>();
  private readonly lostListeners: ((groupId: string) => void)[] = [];
  private readonly resourceLostListeners: ((resource: string) => void)[] = [];
  private readonly json = jsonChannel();
  private readonly packed = packedChannel();
  private readonly tables = new Map<string, Promise<SharedTable>>();
  private readonly stops: (() => void)[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly subscriptions: Subscription[] = [];
  private closed = false;
  private address: GatewayAddress;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly namespace: string,
    private readonly registry: KV,
    private readonly coordinators: KV,
    private readonly ttlMs: number,
    private readonly replicas: number,
    private readonly onError: (error: unknown, what: string) => void,
  ) {
    // Kafka broker ids are int32; a random one is unique among a few live gateways in practice.
    this.address = { id: randomBytes(8).toString('hex'), nodeId: randomInt(1, 2 ** 31 - 1), kafka: null };
  }

  static async open(options: JetStreamGatewaysOptions): Promise<JetStreamGateways> {
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    if (!Number.isInteger(ttlMs) || ttlMs < 100) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'gateway ttlMs must be an integer of at least 100',
      });
    }
    const js = options.connection.jetstream();
    const common = { history: 1, replicas: options.replicas, storage: StorageType.File };
    const registry = await js.views.kv(`${options.namespace}_gateways`, { ...common, ttl: ttlMs });
    const coordinators = await js.views.kv(`${options.namespace}_group_coordinators`, common);
    const gateways = new JetStreamGateways(
      options.connection,
      options.namespace,
      registry,
      coordinators,
      ttlMs,
      options.replicas,
      options.onError ?? (() => undefined),
    );
    gateways.serveRequests(gateways.json);
    gateways.serveRequests(gateways.packed);
    await gateways.announce();
    await gateways.watchRegistry();
    await gateways.watchLeases();
    gateways.heartbeat = setInterval(
      () => {
        gateways.announce().catch((error: unknown) => gateways.onError(error, 'gateway heartbeat'));
      },
      Math.max(25, Math.floor(ttlMs / 4)),
    );
    gateways.heartbeat.unref();
    return gateways;
  }

  get self(): GatewayAddress {
    return this.address;
  }

  gateways(): readonly GatewayAddress[] {
    const live = [this.address];
    for (const [id, seen] of this.seen)
      if (id !== this.address.id && this.isLive(id)) live.push(seen.address);
    return live.sort((a, b) => a.nodeId - b.nodeId);
  }

  async setKafkaAddress(host: string, port: number): Promise<void> {
    this.address = { ...this.address, kafka: { host, port } };
    await this.announce();
  }

  coordinatorOf(groupId: string): Promise<GatewayAddress> {
    return this.leaseHolder(leaseKey(GROUP_LEASE, groupId), `group "${groupId}"`);
  }

  transactionCoordinatorOf(transactionalId: string): Promise<GatewayAddress> {
    return this.leaseHolder(
      leaseKey(TRANSACTION_LEASE, transactionalId),
      `transactional id "${transactionalId}"`,
    );
  }

  /** The gateway holding the lease on `resource` (taken here when free or its holder is dead). */
  leaseHolderOf(resource: string): Promise<GatewayAddress> {
    return this.leaseHolder(leaseKey(RESOURCE_LEASE, resource), `"${resource}"`);
  }

  onLeaseLost(listener: (resource: string) => void): void {
    this.resourceLostListeners.push(listener);
  }

  /** Gives up this gateway's lease on `resource` (a deleted connector), if it holds it. */
  async releaseLease(resource: string): Promise<void> {
    const key = leaseKey(RESOURCE_LEASE, resource);
    const lease = this.leases.get(key);
    if (lease === undefined || lease.owner !== this.address.id) return;
    this.leases.delete(key);
    await this.coordinators.delete(key, { previousSeq: lease.revision }).catch(() => undefined);
  }

  /** The live holder of the lease `key`, taking it over (compare-and-set) when there is none. */
  private async leaseHolder(key: string, what: string): Promise<GatewayAddress> {
    this.checkOpen();
    const cached = this.leases.get(key);
    if (cached !== undefined && this.isLive(cached.owner)) return this.addressOf(cached.owner);
    for (let attempt = 0; attempt < TAKE_OVER_ATTEMPTS; attempt++) {
      const entry = await this.coordinators.get(key);
      const value = entry === null || entry.operation !== 'PUT' ? undefined : parseLease(entry);
      if (entry !== null && value !== undefined && this.isLive(value)) {
        this.leases.set(key, { owner: value, revision: entry.revision });
        return this.addressOf(value);
      }
      try {
        const revision =
          entry === null
            ? await this.coordinators.create(key, encoder.encode(this.address.id))
            : await this.coordinators.update(key, encoder.encode(this.address.id), entry.revision);
        this.leases.set(key, { owner: this.address.id, revision });
        return this.address;
      } catch {
        // Another gateway changed the lease between the read and the write: read it again.
      }
    }
    throw new TributaryError('TIMEOUT', { ms: 0, what: `taking over the coordination of ${what}` });
  }

  onCoordinationLost(listener: (groupId: string) => void): void {
    this.lostListeners.push(listener);
  }

  request(gatewayId: string, method: string, body: unknown, timeoutMs?: number): Promise<unknown> {
    return this.call(this.json, gatewayId, method, body, timeoutMs);
  }

  requestPacked(gatewayId: string, method: string, body: unknown, timeoutMs?: number): Promise<unknown> {
    return this.call(this.packed, gatewayId, method, body, timeoutMs);
  }

  private async call(
    channel: Channel,
    gatewayId: string,
    method: string,
    body: unknown,
    timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ): Promise<unknown> {
    this.checkOpen();
    let reply: Reply;
    try {
      const message = await this.nc.request(
        this.subject(channel, gatewayId, method),
        channel.encode(body ?? null),
        { timeout: timeoutMs },
      );
      reply = channel.decode(message.data) as Reply;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // NATS answers "no responders" (503) at once when no subscription matches: not delivered.
      if (code === '503' && channel.unreachable)
        throw new TributaryError('GATEWAY_UNREACHABLE', { gateway: gatewayId, method });
      if (code === 'TIMEOUT')
        throw new TributaryError('TIMEOUT', {
          ms: timeoutMs,
          what: `gateway ${gatewayId} answering ${method}`,
        });
      throw new TributaryError(
        'CONNECTION_LOST',
        { reason: `gateway ${gatewayId} did not answer ${method} (${String(code ?? error)})` },
        { cause: error },
      );
    }
    if (reply.ok) return reply.value;
    if (Object.hasOwn(ERROR_CATALOGUE, reply.code))
      throw new TributaryError(reply.code as ErrorCode, reply.details);
    throw new TributaryError('INTERNAL', { reason: `gateway ${gatewayId} failed ${method}: ${reply.code}` });
  }

  handle(method: string, handler: (body: unknown) => Promise<unknown>): void {
    this.json.handlers.set(method, handler);
  }

  handlePacked(method: string, handler: (body: unknown) => Promise<unknown>): void {
    this.packed.handlers.set(method, handler);
  }

  /** The shared table `name`: KV bucket `<namespace>_<name>`, opened (created) once. */
  async table(name: string): Promise<SharedTable> {
    this.checkOpen();
    if (!/^[A-Za-z0-9_]+$/.test(name)) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: `shared table name ${JSON.stringify(name)}` });
    }
    let table = this.tables.get(name);
    if (table === undefined) {
      table = KvSharedTable.open(this.nc, `${this.namespace}_${name}`, this.replicas);
      table.catch(() => this.tables.delete(name));
      this.tables.set(name, table);
    }
    return table;
  }

  /** Stops heartbeats and answering, and removes this gateway's entry and leases so others take over at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    for (const stop of this.stops) stop();
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    const mine = [...this.leases].filter(([, lease]) => lease.owner === this.address.id);
    await Promise.all(
      mine.map(([key, lease]) =>
        this.coordinators.delete(key, { previousSeq: lease.revision }).catch(() => undefined),
      ),
    );
    await this.registry.delete(this.address.id).catch(() => undefined);
  }

  private isLive(id: string): boolean {
    if (id === this.address.id) return !this.closed;
    const seen = this.seen.get(id);
    return seen !== undefined && performance.now() - seen.seenAt < this.ttlMs;
  }

  private addressOf(id: string): GatewayAddress {
    return id === this.address.id
      ? this.address
      : (this.seen.get(id)?.address ?? { id, nodeId: -1, kafka: null });
  }

  private async announce(): Promise<void> {
    if (this.closed) return;
    await this.registry.put(this.address.id, encoder.encode(JSON.stringify(this.address)));
  }

  private subject(channel: Channel, gatewayId: string, method: string): string {
    return `${this.namespace}.${channel.prefix}.${gatewayId}.${method}`;
  }

  private serveRequests(channel: Channel): void {
    const subject = `${this.namespace}.${channel.prefix}.${this.address.id}.*`;
    this.subscriptions.push(
      this.nc.subscribe(subject, {
        callback: (error, message) => {
          if (error !== null) return;
          const method = message.subject.slice(message.subject.lastIndexOf('.') + 1);
          const answer = async (): Promise<Reply> => {
            const handler = channel.handlers.get(method);
            if (this.closed) return { ok: false, code: 'SHUTTING_DOWN', details: {} };
            if (handler === undefined) {
              return { ok: false, code: 'NOT_FOUND', details: { what: `gateway request "${method}"` } };
            }
            try {
              const body = channel.decode(message.data);
              return { ok: true, value: (await handler(body)) ?? null };
            } catch (thrown) {
              if (thrown instanceof TributaryError)
                return { ok: false, code: thrown.code, details: thrown.details };
              this.onError(thrown, `answering ${method}`);
              return { ok: false, code: 'INTERNAL', details: { reason: String(thrown) } };
            }
          };
          void answer().then((reply) => {
            if (message.reply === undefined || message.reply === '' || this.nc.isClosed()) return;
            message.respond(channel.encode(reply));
          });
        },
      }),
    );
  }

  private async watchRegistry(): Promise<void> {
    const watcher = await this.registry.watch();
    this.stops.push(() => watcher.stop());
    void (async () => {
      for await (const entry of watcher) {
        if (entry.operation !== 'PUT') {
          this.seen.delete(entry.key);
          continue;
        }
        const address = parseAddress(entry);
        if (address === undefined) continue;
        // An entry replayed at start may be old: count its age from when it was written.
        const age = Math.max(0, Date.now() - entry.created.getTime());
        this.seen.set(entry.key, { address, seenAt: performance.now() - Math.min(age, this.ttlMs) });
      }
    })().catch((error: unknown) => this.onError(error, 'watching the gateway registry'));
  }

  private async watchLeases(): Promise<void> {
    const watcher = await this.coordinators.watch();
    this.stops.push(() => watcher.stop());
    void (async () => {
      for await (const entry of watcher) {
        const before = this.leases.get(entry.key);
        const owner = entry.operation === 'PUT' ? parseLease(entry) : undefined;
        if (owner === undefined) this.leases.delete(entry.key);
        else if (before === undefined || before.revision <= entry.revision) {
          this.leases.set(entry.key, { owner, revision: entry.revision });
        }
        // This gateway held the lease and a newer revision names another owner, or none.
        const lostHere =
          before?.owner === this.address.id && owner !== this.address.id && before.revision <= entry.revision;
        if (!lostHere) continue;
        if (entry.key.startsWith(`${RESOURCE_LEASE}.`)) {
          const resource = idOf(entry.key);
          for (const listener of this.resourceLostListeners) listener(resource);
        } else if (entry.key.startsWith(`${GROUP_LEASE}.`)) {
          const groupId = groupIdOf(entry.key);
          for (const listener of this.lostListeners) listener(groupId);
        }
      }
    })().catch((error: unknown) => this.onError(error, 'watching the group coordinator leases'));
  }

  private checkOpen(): void {
    if (this.closed) throw new TributaryError('SHUTTING_DOWN');
  }
}

/** Lease key prefixes: a consumer group's coordinator, a transactional id's coordinator. */
const GROUP_LEASE = 'g';
const TRANSACTION_LEASE = 't';
/** A resource that runs on one gateway at a time (`leaseHolderOf`). */
const RESOURCE_LEASE = 'r';

/** KV keys allow letters, digits, `-`, `_`, `=`, `/` and `.`: ids are base64url-encoded. */
function leaseKey(kind: string, id: string): string {
  return `${kind}.${Buffer.from(id, 'utf8').toString('base64url')}`;
}

function idOf(key: string): string {
  return Buffer.from(key.slice(2), 'base64url').toString('utf8');
}

function groupIdOf(key: string): string {
  return Buffer.from(key.slice(2), 'base64url').toString('utf8');
}

function parseLease(entry: KvEntry): string | undefined {
  const owner = decoder.decode(entry.value);
  return /^[0-9a-f]{16}$/.test(owner) ? owner : undefined;
}

function parseAddress(entry: KvEntry): GatewayAddress | undefined {
  try {
    const parsed = JSON.parse(decoder.decode(entry.value)) as Partial<GatewayAddress> | null;
    if (parsed === null || typeof parsed.id !== 'string' || !Number.isSafeInteger(parsed.nodeId))
      return undefined;
    const kafka = parsed.kafka;
    const address =
      kafka !== null &&
      typeof kafka === 'object' &&
      typeof kafka.host === 'string' &&
      Number.isInteger(kafka.port)
        ? { host: kafka.host, port: kafka.port }
        : null;
    return { id: parsed.id, nodeId: parsed.nodeId as number, kafka: address };
  } catch {
    return undefined;
  }
}
