/**
 * @module bench/systems/types
 * The "system adapter" seam of the comparison harness. Each system under test (Tributary and its
 * peers) is one module in `bench/systems/` exporting a {@link SystemModule}:
 *
 * - the server side, used by the orchestrator (`bench/run.ts`): whether it can run here, how to
 *   start it on a free loopback port in a temp dir, which workloads it can do, and the admin
 *   calls that create and delete a topic / stream around each run;
 * - the client side, used by the load-generator processes (`bench/workers/loadgen.ts`): publish,
 *   subscribe, bulk fill and replay, through the system's ordinary client library.
 *
 * Everything that crosses a process boundary ({@link Endpoint}, {@link Target}) is plain data.
 */
import type { ChildProcess } from 'node:child_process';
import type { TrackedProcess } from '../lib/procs.js';

/** Replicas of a JetStream cluster the scale-out systems run on: one node (R1) or three (R3). */
export type JetStreamReplicas = 1 | 3;
export const JETSTREAM_REPLICAS: readonly JetStreamReplicas[] = [1, 3];
/** Gateways (`tributary serve --log nats://…` processes) the scale-out systems run. */
export type GatewayCount = 1 | 2 | 3;
export const GATEWAY_COUNTS: readonly GatewayCount[] = [1, 2, 3];

/** Tributary on JetStream, `g` gateways over an `r`-replica cluster (`./tributary-scale-out.ts`). */
export type ScaleOutSystemId = `tributary-js-r${JetStreamReplicas}-g${GatewayCount}`;
export const SCALE_OUT_SYSTEM_IDS: readonly ScaleOutSystemId[] = JETSTREAM_REPLICAS.flatMap((replicas) =>
  GATEWAY_COUNTS.map((gateways): ScaleOutSystemId => `tributary-js-r${replicas}-g${gateways}`),
);

export type SystemId =
  | 'tributary'
  | 'tributary-auth'
  | 'tributary-jetstream'
  | ScaleOutSystemId
  | 'nats'
  | 'nats-r3'
  | 'redis'
  | 'socketio'
  | 'ws'
  | 'tributary-mqtt'
  | 'mosquitto'
  | 'aedes';

/** The order of columns in tables and bars in charts; Tributary first. */
export const SYSTEM_IDS: readonly SystemId[] = [
  'tributary',
  'tributary-auth',
  'tributary-jetstream',
  ...SCALE_OUT_SYSTEM_IDS,
  'nats',
  'nats-r3',
  'redis',
  'socketio',
  'ws',
  'tributary-mqtt',
  'mosquitto',
  'aedes',
];

/**
 * What runs without `--systems`: the peers. `tributary-auth` (Tributary with security on) is
 * asked for by name, to measure the cost of authorization against `tributary`.
 */
export const DEFAULT_SYSTEM_IDS: readonly SystemId[] = ['tributary', 'nats', 'redis', 'socketio', 'ws'];

/**
 * The MQTT suite's systems (`bench/workloads/mqtt.ts`): Tributary's MQTT front end and two MQTT
 * brokers, all driven by mqtt.js. Its tables compare against `tributary-mqtt`.
 */
export const MQTT_SYSTEM_IDS: readonly SystemId[] = ['tributary-mqtt', 'mosquitto', 'aedes'];

/** How to reach a running server (plain data). */
export interface Endpoint {
  readonly system: SystemId;
  readonly host: string;
  readonly port: number;
  /** The API key clients authenticate with (a system with security on). */
  readonly apiKey?: string;
  /**
   * Every port serving the system, `port` first, when there are several (gateways over one
   * JetStream log): clients spread over them, publishers from the first, subscribers from the second.
   */
  readonly gatewayPorts?: readonly number[];
}

/**
 * `log`: durable and replayable (a Tributary topic, a JetStream stream, a Redis stream).
 * `broadcast`: live fan-out to whoever is connected (NATS core subjects, Redis Pub/Sub,
 * Socket.IO broadcast, plain `ws` broadcast; a Tributary topic).
 */
export type Channel = 'log' | 'broadcast';

/** `durable`: each system's usual durable setting; `always`: fsync before every acknowledgement. */
export type Durability = 'durable' | 'always';

/** What a load generator needs to talk to one topic of one system (plain data). */
export interface Target {
  readonly endpoint: Endpoint;
  readonly topic: string;
  readonly channel: Channel;
  /** MQTT systems: the QoS of publishes and subscriptions (default 1). */
  readonly qos?: 0 | 1;
}

export interface Publisher {
  /** Text transports (Socket.IO, ws) get the payload as a string, the others as bytes. */
  readonly text: boolean;
  /**
   * Sends one message. Systems that acknowledge writes return a promise settled by the
   * acknowledgement; fire-and-forget transports return undefined.
   */
  publish(payload: Uint8Array | string): Promise<unknown> | undefined;
  /** Resolves once everything published so far has been written to the socket / acknowledged. */
  flush(): Promise<void>;
  /**
   * For transports whose publish() promises only mean "written to the socket" (MQTT QoS 0):
   * resolves once the server confirmed it has taken in everything published before. The publish
   * workload then measures its window up to this confirmation.
   */
  confirm?(): Promise<void>;
  close(): Promise<void>;
}

export type OnMessage = (payload: Uint8Array | string) => void;

export interface Subscription {
  close(): Promise<void>;
}

export interface ReplayResult {
  readonly records: number;
  readonly bytes: number;
}

/** The client side, loaded by the load-generator processes. */
export interface SystemClient {
  /** `index`: which of a task's publishers this is (0, 1, …), to spread them over gateways. */
  openPublisher(target: Target, index?: number): Promise<Publisher>;
  /**
   * Resolves once the subscription is registered on the server (messages published after it are
   * seen). `index`: which of a task's subscriptions this is, to spread them over gateways.
   */
  subscribe(
    target: Target,
    from: 'latest' | 'earliest',
    onMessage: OnMessage,
    index?: number,
  ): Promise<Subscription>;
  /** Bulk-loads `count` payloads for the replay workload, with the system's batching (not timed). */
  fill?(target: Target, payloads: (index: number) => Uint8Array, count: number): Promise<void>;
  /** Reads the first `count` records of the topic as fast as the client allows. */
  replay?(target: Target, count: number): Promise<ReplayResult>;
  /** Opens a connection that only stays connected (no subscription): the idle-connections workload. */
  connectIdle?(target: Target): Promise<Subscription>;
}

export interface Capabilities {
  /** Durabilities offered for the publish workload (empty: cannot do it). */
  readonly publish: readonly Durability[];
  /** Channel used for end-to-end latency, or undefined. */
  readonly latency?: Channel;
  /** Channel used for fan-out, or undefined. */
  readonly fanout?: Channel;
  readonly replay: boolean;
  /** Why a workload is not offered, shown in the tables (e.g. "no persistence"). */
  readonly notes?: Readonly<Record<string, string>>;
}

/** What every MQTT system offers (`MQTT_SYSTEM_IDS`): durable publish, latency and fan-out through the log, no replay. */
export const MQTT_CAPABILITIES: Capabilities = {
  publish: ['durable'],
  latency: 'log',
  fanout: 'log',
  replay: false,
};

export interface StartContext {
  readonly dir: string;
  readonly port: number;
  readonly logFile: string;
  readonly projectRoot: string;
  spawn(name: string, command: string, args: readonly string[]): TrackedProcess;
  /** Remembers a process started elsewhere (a nats-server of a cluster) so an interrupted run stops it. */
  track(name: string, child: ChildProcess): TrackedProcess;
  /** Registers what stops the system's other parts (a NATS cluster), run after its processes stopped. */
  onStop(stop: () => Promise<void>): void;
  /** A progress line (start-up steps that take a while). */
  note(message: string): void;
  /** Further ports serving the same system (more gateways): see {@link Endpoint.gatewayPorts}. */
  addPorts(ports: readonly number[]): void;
}

export interface SystemModule {
  readonly id: SystemId;
  /** Column header: short name. */
  readonly label: string;
  /** One line: what exactly runs (server, storage, client library). */
  readonly description: string;
  readonly capabilities: Capabilities;
  /** Why the system cannot run on this machine (with the install command), or undefined. */
  unavailable(): Promise<string | undefined>;
  /** Starts the server and resolves when it accepts connections. */
  start(context: StartContext): Promise<TrackedProcess>;
  /** Creates the topic / stream of one run (orchestrator side). */
  prepare(target: Target, durability: Durability): Promise<void>;
  /** Deletes it again and restores server settings changed by `prepare`. */
  cleanup(target: Target, durability: Durability): Promise<void>;
  /** Loaded lazily in the load generators so one system's client library is loaded only where used. */
  loadClient(): Promise<SystemClient>;
  /** The API key clients of this system present (put in its {@link Endpoint}); none: no credentials. */
  readonly endpointApiKey?: string;
  /** Version string of the server, best effort. */
  version(context: { readonly projectRoot: string }): Promise<string>;
}
