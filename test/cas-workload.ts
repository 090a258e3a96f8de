/**
 * A compare-and-set-heavy workload on a strong collection, for the linearizability checker:
 * clients over real WebSocket connections read, write and compare-and-set a few hot keys of a
 * real `tributary serve` child process that is SIGKILLed and restarted on the same data
 * directory along the way. Most CAS are refused (clients expect values others have replaced),
 * and every refusal goes into the history with the value it reported, so the checker verifies
 * refusals as strictly as successes.
 *
 * Outcomes: an answer is known; a request whose connection died with a killed server may have
 * taken effect before the server's exit or never (`unknown`, bounded by the exit); any other
 * unanswered request is unbounded (`ret` Infinity, counted, expected to be none).
 *
 * Used by `test/collections-cas.test.ts` (bounded) and `npm run test:linearizability` (long).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectionClient, ConnectionLostError, sleep, WireRequestError } from './collections-helpers.js';
import { gatewayArgs } from './fixtures/gateways.js';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';
import { checkRegister, type HistoryEntry, type RegisterOp } from './linearizability.js';

export interface CasWorkloadOptions {
  /** Operations to record in total (reads, writes, CAS). */
  readonly ops: number;
  /** SIGKILLs of the server, spread evenly over the operations. */
  readonly kills: number;
  readonly clients?: number;
  readonly keys?: number;
  readonly seed?: number;
  /** Progress lines (the long run prints them). */
  readonly log?: (line: string) => void;
  /**
   * Several `tributary serve` gateways over this shared log (`nats://…`, docs/scale-out.md)
   * instead of one server with a file log: clients are spread over them, kills hit the first.
   */
  readonly gateways?: {
    readonly logUrl: string;
    readonly count: number;
    /** More `tributary serve` arguments for every gateway (e.g. a short `--log-gateway-ttl-ms`). */
    readonly args?: readonly string[];
    /** Kills do not restart the first gateway: its clients move to the second. */
    readonly killWithoutRestart?: boolean;
  };
  /** Called once the servers run and the keys are written, before the operations start, with each server's HTTP base URL. */
  readonly afterStart?: (urls: readonly string[]) => Promise<void>;
  /** Called once the operations are done, before the servers stop, with each live server's HTTP base URL. */
  readonly beforeStop?: (urls: readonly string[]) => Promise<void>;
}

export interface CasWorkloadStats {
  ops: number;
  reads: number;
  writes: number;
  cas: number;
  casOk: number;
  casRefused: number;
  /** Refusals whose reported version maps to a known value (checked against it). */
  refusalsWithValue: number;
  /** Requests lost with a killed server (may or may not have taken effect before its exit). */
  unknownBounded: number;
  /** Requests without an answer from a live server (unbounded outcome). */
  unknownUnbounded: number;
  /** Of those, writes a gateway forwarded to its partition's leader that answered `WRITE_OUTCOME_UNKNOWN`. */
  unknownForwarded: number;
  /** Writes acknowledged (puts and successful CAS); with gateways, each is looked up in the log afterwards. */
  acknowledged: number;
  /** Of those, the ones called after the last kill. */
  acknowledgedAfterKill: number;
  kills: number;
  elapsedMs: number;
}

export interface CasWorkloadResult {
  readonly histories: ReadonlyMap<string, readonly HistoryEntry[]>;
  readonly initial: ReadonlyMap<string, string>;
  readonly stats: CasWorkloadStats;
  /** Problems seen outside the histories (two values at one version, unexpected errors). */
  readonly anomalies: readonly string[];
}

const COLLECTION = 'registers';

/** mulberry32: a seeded PRNG so a run's choices replay from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The server child process across restarts; each start is a new epoch. */
class Server {
  process: ServerProcess | undefined;
  epoch = 0;
  readonly killed = new Set<number>();
  /** Killed and not started again. */
  gone = false;
  /** Epoch → when its process was seen to exit (after it was SIGKILLed). */
  readonly exitedAt = new Map<number, number>();

  constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly args: readonly string[] = [],
  ) {}

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/ws`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    // A new epoch before the process listens: no connection to it is counted in the last one.
    this.epoch++;
    this.process = await startServerProcess(this.dataDir, this.port, {
      readyTimeoutMs: 90_000,
      args: this.args,
    });
  }

  async kill(now: () => number): Promise<void> {
    const process = this.process;
    if (process === undefined) return;
    this.killed.add(this.epoch);
    await killServer(process, 'SIGKILL');
    this.exitedAt.set(this.epoch, now());
    this.process = undefined;
  }
}

/** One connection at a time, reconnecting after a restart; remembers the epoch it reached. */
class Connection {
  #client: CollectionClient | undefined;
  epoch = 0;
  constructor(
    public server: Server,
    /** The server to move to once `server` was killed for good (no restart). */
    private readonly fallback?: Server,
  ) {}

  async get(stopped: () => boolean): Promise<CollectionClient | undefined> {
    while (this.#client === undefined || this.#client.closed) {
      if (stopped()) return undefined;
      if (this.server.gone && this.fallback !== undefined) this.server = this.fallback;
      try {
        const epoch = this.server.epoch;
        this.#client = await CollectionClient.connect(this.server.wsUrl);
        this.epoch = epoch;
      } catch {
        await sleep(20);
      }
    }
    return this.#client;
  }

  close(): void {
    this.#client?.close();
  }
}

interface Pending {
  readonly entry: { op: RegisterOp; call: number; ret: number; unknown?: boolean };
  readonly epoch: number;
  /** The server whose death lost the request. */
  readonly at: Server;
}

export async function runCasWorkload(options: CasWorkloadOptions): Promise<CasWorkloadResult> {
  const clients = options.clients ?? 8;
  const keys = Array.from({ length: options.keys ?? 3 }, (_, i) => `k${i}`);
  const seed = options.seed ?? 1;
  const log = options.log ?? (() => {});
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-cas-'));
  const servers: Server[] = [];
  for (let i = 0; i < (options.gateways?.count ?? 1); i++) {
    const args =
      options.gateways === undefined ? [] : gatewayArgs(options.gateways.logUrl, options.gateways.args);
    servers.push(new Server(join(dataDir, `gateway-${i}`), await freePort(), args));
  }
  // Kills hit the first server (the only one without gateways).
  const server = servers[0]!;
  const start = performance.now();
  const now = (): number => performance.now() - start;
  const stats: CasWorkloadStats = {
    ops: 0,
    reads: 0,
    writes: 0,
    cas: 0,
    casOk: 0,
    casRefused: 0,
    refusalsWithValue: 0,
    unknownBounded: 0,
    unknownUnbounded: 0,
    unknownForwarded: 0,
    acknowledged: 0,
    acknowledgedAfterKill: 0,
    kills: 0,
    elapsedMs: 0,
  };
  const anomalies: string[] = [];
  const histories = new Map<string, HistoryEntry[]>(keys.map((k) => [k, []]));
  const initial = new Map<string, string>();
  // Versions are offsets of one partition: each names one value, whoever reported it.
  const valueAt = new Map<number, string>();
  const learn = (version: number, value: string): void => {
    const known = valueAt.get(version);
    if (known !== undefined && known !== value)
      anomalies.push(`version ${version} holds ${known} and ${value}`);
    valueAt.set(version, value);
  };
  const refusals: { entry: { op: RegisterOp }; actual: number }[] = [];
  const lost: Pending[] = [];
  const acknowledged: Acknowledged[] = [];
  let lastKillAt = Number.POSITIVE_INFINITY;
  const connections: Connection[] = [];
  try {
    for (const each of servers) await each.start();
    const admin = await CollectionClient.connect(server.wsUrl);
    await admin.request('createCollection', { name: COLLECTION, mode: 'strong' });
    for (const key of keys) {
      const value = `${key}-init`;
      const written = await admin.request('collectionPut', {
        collection: COLLECTION,
        key,
        value: { v: value },
      });
      learn(written.version, value);
      initial.set(key, value);
    }
    admin.close();
    await options.afterStart?.(servers.map((each) => each.url));

    let done = false;
    const worker = async (w: number): Promise<void> => {
      const random = prng(seed * 1_000 + w);
      const connection = new Connection(servers[w % servers.length]!, servers[1]);
      connections.push(connection);
      const known = new Map<string, { version: number; value: string }>();
      let serial = 0;
      while (!done) {
        const key = keys[Math.floor(random() * keys.length)]!;
        const history = histories.get(key)!;
        const expectation = known.get(key);
        const choice = random();
        const client = await connection.get(() => done);
        if (client === undefined) return;
        const epoch = connection.epoch;
        const call = now();
        const settleUnknown = (op: RegisterOp, error: unknown): void => {
          const entry = { op, call, ret: Number.POSITIVE_INFINITY, unknown: true };
          history.push(entry);
          if (error instanceof WireRequestError && error.code === 'WRITE_OUTCOME_UNKNOWN') {
            // Forwarded to the partition's leader, no answer: it may still apply (unbounded).
            stats.unknownForwarded++;
            stats.unknownUnbounded++;
          } else if (error instanceof ConnectionLostError && connection.server.killed.has(epoch)) {
            entry.ret = now();
            lost.push({ entry, epoch, at: connection.server });
            stats.unknownBounded++;
          } else {
            stats.unknownUnbounded++;
          }
        };
        if (expectation === undefined || choice < 0.15) {
          try {
            const read = await client.request('collectionGet', {
              collection: COLLECTION,
              key,
              consistency: 'linearizable',
            });
            history.push({ op: { kind: 'read', value: read.value.v }, call, ret: now() });
            learn(read.version, read.value.v);
            known.set(key, { version: read.version, value: read.value.v });
            stats.reads++;
          } catch {
            // A read without an answer constrains nothing.
            continue;
          }
        } else if (choice < 0.25) {
          const value = `${key}-w${w}-${serial++}`;
          const op: RegisterOp = { kind: 'write', value };
          stats.writes++;
          try {
            const written = await client.request('collectionPut', {
              collection: COLLECTION,
              key,
              value: { v: value },
            });
            history.push({ op, call, ret: now() });
            learn(written.version, value);
            acknowledged.push({ key, version: written.version, value, call });
            known.set(key, { version: written.version, value });
          } catch (error) {
            settleUnknown(op, error);
            known.delete(key);
          }
        } else {
          const value = `${key}-c${w}-${serial++}`;
          stats.cas++;
          try {
            const written = await client.request('collectionPut', {
              collection: COLLECTION,
              key,
              value: { v: value },
              ifVersion: expectation.version,
            });
            history.push({
              op: { kind: 'cas', expected: expectation.value, value, ok: true },
              call,
              ret: now(),
            });
            learn(written.version, value);
            acknowledged.push({ key, version: written.version, value, call });
            known.set(key, { version: written.version, value });
            stats.casOk++;
          } catch (error) {
            if (error instanceof WireRequestError && error.code === 'VERSION_MISMATCH') {
              const entry = {
                op: { kind: 'cas', expected: expectation.value, value, ok: false } as RegisterOp,
                call,
                ret: now(),
              };
              history.push(entry);
              refusals.push({ entry, actual: Number(error.error.details.actual) });
              stats.casRefused++;
              // Half the time keep the stale expectation (the next CAS is refused again), else
              // start over from what the refusal reported, when that value is known here.
              const actual = valueAt.get(Number(error.error.details.actual));
              if (random() < 0.5) {
                if (actual === undefined) known.delete(key);
                else known.set(key, { version: Number(error.error.details.actual), value: actual });
              }
            } else if (
              error instanceof WireRequestError &&
              !error.error.retriable &&
              error.code !== 'WRITE_OUTCOME_UNKNOWN'
            ) {
              anomalies.push(`CAS answered ${error.code}: ${error.message}`);
            } else {
              settleUnknown({ kind: 'cas', expected: expectation.value, value, ok: undefined }, error);
              known.delete(key);
            }
          }
        }
        stats.ops++;
      }
    };

    const killer = async (): Promise<void> => {
      try {
        for (let kill = 1; kill <= options.kills; kill++) {
          const at = Math.floor((options.ops * kill) / (options.kills + 1));
          while (stats.ops < at) await sleep(5);
          await server.kill(now);
          lastKillAt = now();
          stats.kills++;
          log(`kill ${kill}/${options.kills} after ${stats.ops} ops`);
          if (options.gateways?.killWithoutRestart === true) server.gone = true;
          else await server.start();
        }
        while (stats.ops < options.ops) await sleep(5);
      } finally {
        done = true;
      }
    };
    await Promise.all([killer(), ...Array.from({ length: clients }, (_, w) => worker(w))]);
    const live = servers.filter((each) => each.process !== undefined);
    await options.beforeStop?.(live.map((each) => each.url));
    // Every acknowledged write is in the log, at the version it was acknowledged with.
    if (options.gateways !== undefined) await checkStored(live[0]!.url, keys, acknowledged, anomalies);
  } finally {
    for (const connection of connections) connection.close();
    for (const each of servers) if (each.process !== undefined) await killServer(each.process, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
  // A request lost with a killed server took effect before that server exited, or never.
  for (const { entry, epoch, at } of lost)
    entry.ret = Math.max(entry.ret, at.exitedAt.get(epoch) ?? entry.ret);
  for (const { entry, actual } of refusals) {
    const value = valueAt.get(actual);
    if (value === undefined || entry.op.kind !== 'cas') continue;
    entry.op = { ...entry.op, actual: value };
    stats.refusalsWithValue++;
  }
  stats.acknowledged = acknowledged.length;
  stats.acknowledgedAfterKill = acknowledged.filter((a) => a.call > lastKillAt).length;
  stats.elapsedMs = Math.round(now());
  return { histories, initial, stats, anomalies };
}

interface Acknowledged {
  readonly key: string;
  readonly version: number;
  readonly value: string;
  readonly call: number;
}

/** Appends an anomaly for each acknowledged write the key's history (from the log) lacks. */
async function checkStored(
  url: string,
  keys: readonly string[],
  acknowledged: readonly Acknowledged[],
  anomalies: string[],
): Promise<void> {
  for (const key of keys) {
    const response = await fetch(`${url}/v1/collections/${COLLECTION}/items/${key}/history?limit=1000`);
    const history = (await response.json()) as {
      versions: { version: number; value: { v: string } | null }[];
      complete: boolean;
    };
    if (!response.ok) {
      anomalies.push(`history of ${key}: ${response.status} ${JSON.stringify(history)}`);
      continue;
    }
    const stored = new Map(history.versions.map((v) => [v.version, v.value?.v]));
    for (const ack of acknowledged) {
      if (ack.key === key && stored.get(ack.version) !== ack.value)
        anomalies.push(`acknowledged ${ack.value} at version ${ack.version} is not in the log`);
    }
  }
}

/** Checks every key's history; returns a description per key that is not linearizable. */
export function checkCasWorkload(result: CasWorkloadResult): {
  failures: string[];
  steps: number;
  checkMs: number;
} {
  const failures: string[] = [];
  let steps = 0;
  const started = performance.now();
  for (const [key, history] of result.histories) {
    const checked = checkRegister(history, result.initial.get(key)!);
    steps += checked.steps;
    if (!checked.ok) {
      failures.push(
        `history of ${key} (${history.length} ops) is not linearizable: stuck at ${JSON.stringify(checked.stuckAt)} after ${checked.linearizedBefore} ops`,
      );
    }
  }
  return { failures, steps, checkMs: Math.round(performance.now() - started) };
}
