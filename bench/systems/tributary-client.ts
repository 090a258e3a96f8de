/**
 * @module bench/systems/tributary-client
 * The load-generator side of the Tributary adapter, over the client SDK's Node entry
 * (`src/client/node/index.ts`): one `connect()` (one WebSocket) per publisher and per subscriber,
 * `client.producer({ topic })` to publish, `client.consumer({ topic, from })` with a `records`
 * listener to subscribe and replay.
 *
 * Settings, chosen like the peers' (each measured at its best, the same for every workload):
 * - producer `lingerMs: 0`: no linger timer; with nothing in flight a batch goes out at the end of
 *   the current event-loop turn, else the records sent meanwhile go out together as soon as the
 *   batch in flight is acknowledged (up to `batchRecords`, 500), so batches still fill under load;
 * - consumer credit: the SDK default (500 records) for live subscriptions; 10,000 for the replay,
 *   the same page size the NATS and Redis replays use.
 *
 * The SDK is imported dynamically so that the harness still runs (and reports "skipped: SDK not
 * ready") on a tree where it is missing or broken; `sdkProblem()` says why.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { OnMessage, Publisher, ReplayResult, Subscription, SystemClient, Target } from './types.js';

const SDK_SOURCE = fileURLToPath(new URL('../../src/client/node/index.ts', import.meta.url));
const SDK_MODULE = new URL('../../src/client/node/index.js', import.meta.url).href;

/** Records granted ahead per partition when replaying (same page size as the peers' replays). */
const REPLAY_CREDIT = 10_000;

/** The part of the SDK the harness uses (kept structural so a missing SDK does not break the type check). */
interface SdkRecord {
  readonly offset: number;
  readonly value: Uint8Array | null;
}

interface SdkProducer {
  send(record: { readonly value: Uint8Array | string }): Promise<unknown>;
  flush(): Promise<void>;
}

interface SdkConsumer {
  readonly ready: Promise<void>;
  on(event: 'records', listener: (records: SdkRecord[]) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  close(): Promise<void>;
}

interface SdkClient {
  producer(options: { readonly topic: string; readonly lingerMs?: number }): SdkProducer;
  consumer(options: {
    readonly topic: string;
    readonly from?: 'earliest' | 'latest';
    readonly creditRecords?: number;
  }): SdkConsumer;
  close(): Promise<void>;
}

interface Sdk {
  connect(options: {
    readonly url: string;
    readonly reconnect?: false;
    readonly clientName?: string;
    readonly connectTimeoutMs?: number;
    readonly auth?: { readonly apiKey: string };
  }): Promise<SdkClient>;
}

let loaded: Promise<Sdk> | undefined;

function loadSdk(): Promise<Sdk> {
  loaded ??= import(SDK_MODULE).then((module: Record<string, unknown>) => {
    if (typeof module.connect !== 'function') throw new Error('the SDK has no connect() export');
    return module as unknown as Sdk;
  });
  return loaded;
}

/** Why the SDK cannot be used (reported as the skip reason), or undefined. */
export async function sdkProblem(): Promise<string | undefined> {
  if (!existsSync(SDK_SOURCE)) return 'skipped: SDK not ready (src/client/node/index.ts does not exist yet)';
  try {
    await loadSdk();
  } catch (error) {
    loaded = undefined;
    return `skipped: SDK not ready (${error instanceof Error ? error.message : String(error)})`;
  }
  return undefined;
}

/**
 * The gateway a client connects to when there are several: publishers round-robin from the first,
 * subscribers from the second, so one publisher and one subscriber are on different gateways and
 * every delivery crosses the log.
 */
function gatewayPort(target: Target, role: 'publisher' | 'subscriber', index: number): number {
  const ports = target.endpoint.gatewayPorts;
  if (ports === undefined || ports.length === 0) return target.endpoint.port;
  return ports[(index + (role === 'subscriber' ? 1 : 0)) % ports.length]!;
}

async function connectTo(target: Target, port = target.endpoint.port): Promise<SdkClient> {
  const sdk = await loadSdk();
  return sdk.connect({
    url: `ws://${target.endpoint.host}:${port}/v1/ws`,
    reconnect: false,
    clientName: 'tributary-bench/1',
    connectTimeoutMs: 30_000,
    ...(target.endpoint.apiKey === undefined ? {} : { auth: { apiKey: target.endpoint.apiKey } }),
  });
}

async function openPublisher(target: Target, index = 0): Promise<Publisher> {
  const client = await connectTo(target, gatewayPort(target, 'publisher', index));
  const producer = client.producer({ topic: target.topic, lingerMs: 0 });
  return {
    text: false,
    publish: (payload) => producer.send({ value: payload }),
    flush: () => producer.flush(),
    close: () => client.close(),
  };
}

async function subscribe(
  target: Target,
  from: 'latest' | 'earliest',
  onMessage: OnMessage,
  index = 0,
): Promise<Subscription> {
  const client = await connectTo(target, gatewayPort(target, 'subscriber', index));
  try {
    const consumer = client.consumer({ topic: target.topic, from });
    consumer.on('records', (records) => {
      for (const record of records) if (record.value !== null) onMessage(record.value);
    });
    await consumer.ready;
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  return { close: () => client.close() };
}

async function replay(target: Target, count: number): Promise<ReplayResult> {
  const client = await connectTo(target, gatewayPort(target, 'subscriber', 0));
  try {
    let records = 0;
    let bytes = 0;
    const done = new Promise<void>((resolve, reject) => {
      const consumer = client.consumer({
        topic: target.topic,
        from: 'earliest',
        creditRecords: REPLAY_CREDIT,
      });
      consumer.on('error', reject);
      consumer.on('records', (batch) => {
        if (records >= count) return;
        for (const record of batch) bytes += record.value?.length ?? 0;
        records += batch.length;
        if (records >= count) resolve();
      });
      consumer.ready.catch(reject);
    });
    await done;
    return { records: Math.min(records, count), bytes };
  } finally {
    await client.close().catch(() => undefined);
  }
}

export async function loadTributaryClient(): Promise<SystemClient> {
  await loadSdk();
  return { openPublisher, subscribe, replay };
}
