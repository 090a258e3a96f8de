/**
 * @module bench/systems/nats
 * NATS as a benchmark peer: `nats-server -js -sd DIR -p PORT -a 127.0.0.1` (JetStream, file
 * storage, R1), driven by nats.js (npm `nats`); `nats-r3` is a 3-node cluster with R3 streams,
 * the raw JetStream beside the scale-out systems on R3 (`./tributary-scale-out.ts`).
 *
 * - publish: JetStream with PubAcks. Messages are published to the stream's subject with a reply
 *   subject on one wildcard inbox subscription, and each PubAck is matched by its id: the same
 *   wire traffic as `js.publish()` without its per-message request timer and empty headers, i.e.
 *   what Go's `PublishAsync` does. nats.js's `js.publish()` measured about 10× slower here
 *   (`/work/shared/perf-anchors.md`: "api" vs "raw"), and the harness measures peers at their best.
 *   nats-server 2.9 has no fsync-per-write setting (`sync_interval: always` came in 2.10), so the
 *   `always` variant is not offered.
 * - latency and replay: JetStream ordered push consumers (`js.subscribe(subject,
 *   consumerOpts().orderedConsumer())`, flow-controlled by the server).
 * - fan-out: NATS core subjects, one connection per subscriber.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  connect,
  consumerOpts,
  createInbox,
  type NatsConnection,
  type Subscription as NatsSubscription,
  StorageType,
} from 'nats';
import { startNatsServers } from '../../src/log/jetstream/testing/nats-servers.js';
import {
  findBinary,
  LOOPBACK,
  SERVER_START_TIMEOUT_MS,
  type TrackedProcess,
  waitForPort,
} from '../lib/procs.js';
import type { Publisher, ReplayResult, StartContext, SystemClient, SystemModule, Target } from './types.js';

function connectTo(target: Target | { endpoint: Target['endpoint'] }): Promise<NatsConnection> {
  return connect({
    servers: `${target.endpoint.host}:${target.endpoint.port}`,
    reconnect: false,
    // A full fan-out burst must not trip the client's own pending limits.
    maxPingOut: 10,
  });
}

async function openPublisher(target: Target): Promise<Publisher> {
  const nc = await connectTo(target);
  if (target.channel === 'broadcast') {
    return {
      text: false,
      publish(payload) {
        nc.publish(target.topic, payload as Uint8Array);
        return undefined;
      },
      flush: () => nc.flush(),
      close: () => nc.close(),
    };
  }
  // JetStream publish with acks: one inbox subscription, acks matched by id.
  const inbox = createInbox();
  const prefixLength = inbox.length + 1;
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  const decoder = new TextDecoder();
  let nextId = 0;
  nc.subscribe(`${inbox}.*`, {
    callback: (error, msg) => {
      const id = Number(msg.subject.slice(prefixLength));
      const waiter = pending.get(id);
      if (waiter === undefined) return;
      pending.delete(id);
      if (error !== null) {
        waiter.reject(error);
        return;
      }
      const status = msg.headers?.code ?? 0;
      // A PubAck is `{"stream":…,"seq":…}`; failures carry "error" or a status header (503: no stream).
      if (status >= 400 || msg.data.length === 0 || decoder.decode(msg.data).includes('"error"')) {
        waiter.reject(new Error(`JetStream rejected the publish: ${decoder.decode(msg.data)} (${status})`));
      } else {
        waiter.resolve();
      }
    },
  });
  await nc.flush();
  return {
    text: false,
    publish(payload) {
      const id = ++nextId;
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        nc.publish(target.topic, payload as Uint8Array, { reply: `${inbox}.${id}` });
      });
    },
    flush: () => nc.flush(),
    close: () => nc.close(),
  };
}

async function subscribe(
  target: Target,
  from: 'latest' | 'earliest',
  onMessage: (payload: Uint8Array) => void,
): Promise<{ close(): Promise<void> }> {
  const nc = await connectTo(target);
  if (target.channel === 'broadcast') {
    const sub: NatsSubscription = nc.subscribe(target.topic, {
      callback: (_error, msg) => onMessage(msg.data),
    });
    await nc.flush();
    return {
      close: async () => {
        sub.unsubscribe();
        await nc.close();
      },
    };
  }
  // Push-based ordered consumer: nats.js's newer `js.consumers.get()` ordered consumer sends a
  // 2.10-only field ("action") and hangs against nats-server 2.9, so the push form is used.
  const opts = consumerOpts()
    .orderedConsumer()
    .callback((_error, msg) => {
      if (msg !== null) onMessage(msg.data);
    });
  if (from === 'latest') opts.deliverNew();
  else opts.deliverAll();
  const sub = await nc.jetstream().subscribe(target.topic, opts);
  return {
    close: async () => {
      sub.unsubscribe();
      await nc.close();
    },
  };
}

async function replay(target: Target, count: number): Promise<ReplayResult> {
  const nc = await connectTo(target);
  try {
    let records = 0;
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      const opts = consumerOpts()
        .orderedConsumer()
        .deliverAll()
        .callback((error, msg) => {
          if (error !== null) {
            reject(error);
            return;
          }
          if (msg === null || records >= count) return;
          records++;
          bytes += msg.data.length;
          if (records === count) resolve();
        });
      nc.jetstream().subscribe(target.topic, opts).catch(reject);
    });
    return { records, bytes };
  } finally {
    await nc.close();
  }
}

const client: SystemClient = { openPublisher, subscribe, replay };

/**
 * Starts a JetStream node or 3-node cluster (`src/log/jetstream/testing/nats-servers.ts`) for a
 * system, its first node's client port `port` when given, with progress lines and generous
 * timeouts; the harness stops it with the system (also when the start fails half-way: the nodes
 * are tracked as they start).
 */
export async function startNatsCluster(
  context: StartContext,
  nodes: 1 | 3,
  port?: number,
): Promise<{ urls: readonly string[]; first: TrackedProcess }> {
  const tracked: TrackedProcess[] = [];
  const cluster = await startNatsServers({
    nodes,
    ...(port === undefined ? {} : { clientPorts: [port] }),
    startTimeoutMs: SERVER_START_TIMEOUT_MS,
    onProgress: (message) => context.note(`  ${message}`),
    onSpawn: (name, child) => tracked.push(context.track(name, child)),
  });
  context.onStop(() => cluster.stop());
  return { urls: cluster.urls, first: tracked[0]! };
}

/** The `nats` peer (one node, R1 streams) or `nats-r3` (a 3-node cluster, R3 streams). */
function natsSystem(replicas: 1 | 3): SystemModule {
  return {
    id: replicas === 1 ? 'nats' : 'nats-r3',
    label: replicas === 1 ? 'nats' : 'nats R3',
    description:
      replicas === 1
        ? 'nats-server -js (JetStream, file storage, R1) via nats.js; fan-out on NATS core subjects, one connection per subscriber'
        : 'three nats-server -js nodes in a cluster (JetStream, file storage, R3 streams) via nats.js, clients on the first node; fan-out on NATS core subjects',
    capabilities: {
      publish: ['durable'],
      latency: 'log',
      fanout: 'broadcast',
      replay: true,
      notes: {
        'publish:always': 'no fsync-per-write setting in nats-server 2.9 (sync_interval: always is 2.10+)',
      },
    },
    async unavailable() {
      return findBinary('nats-server') === undefined
        ? 'skipped: nats-server not found (install: apt-get install nats-server)'
        : undefined;
    },
    async start(context) {
      if (replicas === 3) return (await startNatsCluster(context, 3, context.port)).first;
      const binary = findBinary('nats-server')!;
      const child = context.spawn('nats-server', binary, [
        '-js',
        '-sd',
        context.dir,
        '-p',
        String(context.port),
        '-a',
        LOOPBACK,
      ]);
      await waitForPort(context.port, child, SERVER_START_TIMEOUT_MS);
      return child;
    },
    async prepare(target) {
      if (target.channel !== 'log') return;
      const nc = await connectTo(target);
      try {
        const jsm = await nc.jetstreamManager({ timeout: 30_000 });
        await jsm.streams.add({
          name: target.topic,
          subjects: [target.topic],
          storage: StorageType.File,
          num_replicas: replicas,
        });
      } finally {
        await nc.close();
      }
    },
    async cleanup(target) {
      if (target.channel !== 'log') return;
      const nc = await connectTo(target);
      try {
        const jsm = await nc.jetstreamManager({ timeout: 30_000 });
        await jsm.streams.delete(target.topic).catch(() => false);
      } finally {
        await nc.close();
      }
    },
    async loadClient() {
      return client;
    },
    async version() {
      const binary = findBinary('nats-server');
      if (binary === undefined) return 'not installed';
      const { stdout } = await promisify(execFile)(binary, ['--version']);
      return stdout.trim();
    },
  };
}

export const nats: SystemModule = natsSystem(1);
export const natsR3: SystemModule = natsSystem(3);
