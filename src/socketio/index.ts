/**
 * @module tributary-sync/socket.io
 * A Socket.IO adapter on Tributary: several Socket.IO servers share broadcasts, rooms,
 * `fetchSockets`, `serverSideEmit` and acknowledgements through Tributary topics, and
 * connection state recovery works on any server, after a crash too, for as long as the
 * broadcast topic keeps its records. See `docs/socket.io.md`.
 *
 * @example
 * import { Server } from 'socket.io';
 * import { createAdapter } from 'tributary-sync/socket.io';
 *
 * const io = new Server(3000, { connectionStateRecovery: {} });
 * io.adapter(createAdapter({ url: 'ws://127.0.0.1:7700/v1/ws' }));
 * io.on('connection', (socket) => {
 *   socket.on('data-update', (data) => socket.broadcast.emit('data-update', data));
 * });
 */
import type { Namespace, Socket } from 'socket.io';
import type { ClientAuth, NodeTlsOptions, TributaryClient } from '../client/node/index.js';
import { type RecoveryFailure, TributaryAdapter } from './adapter.js';
import { SocketIoBus } from './bus.js';
import { SessionStore } from './sessions.js';

export { type RecoveryFailure, TributaryAdapter } from './adapter.js';

export interface TributaryAdapterOptions {
  /** The server's WebSocket URL, `ws://host:port/v1/ws` (or `wss://`). Required unless `client`. */
  readonly url?: string;
  /** Credentials when the server has security on (see docs/client.md). Default none. */
  readonly auth?: ClientAuth;
  /** TLS options for a `wss://` URL. Default: Node's. */
  readonly tls?: NodeTlsOptions;
  /** A connected SDK client to use instead of `url` (the adapter does not close it). */
  readonly client?: TributaryClient;
  /** The broadcast topic (created when missing). Default `socket.io`. */
  readonly topic?: string;
  /** Partitions of the broadcast topic when the adapter creates it. Default 1. */
  readonly partitions?: number;
  /** The control topic: heartbeats, requests, responses. Default `<topic>.control`. */
  readonly controlTopic?: string;
  /** Retention of the control topic when the adapter creates it. Default 1 hour. */
  readonly controlRetentionMs?: number;
  /** The live collection of recovery sessions (strong mode). Default `<topic>.sessions`. */
  readonly sessionsCollection?: string;
  /**
   * How long after it was last saved (connect, room change, disconnect) a session can be
   * recovered; older ones are deleted from the collection in the background. Default 7 days.
   */
  readonly sessionTtlMs?: number;
  /** Heartbeat period of each server. Default 5 000. */
  readonly heartbeatIntervalMs?: number;
  /** A server silent this long is considered gone (`fetchSockets`, `serverSideEmit`). Default 10 000. */
  readonly heartbeatTimeoutMs?: number;
  /** Most packets one recovering client is given; more fails the recovery. Default 10 000. */
  readonly recoveryPacketsMax?: number;
  /** Records read per request while recovering. Default 1 000. */
  readonly recoveryFetchRecords?: number;
  /**
   * Called when a client asked for recovery and could not get it (history gone, session
   * unknown, …), once its new socket is connected: send it a fresh snapshot of the state.
   */
  readonly onRecoveryFailed?: (socket: Socket, reason: RecoveryFailure) => void;
  /** Errors that cannot be returned to a caller (a broadcast that could not be stored). Default: a process warning. */
  readonly onError?: (error: unknown) => void;
}

/** The adapter constructor Socket.IO's `io.adapter()` takes, with the adapters it made. */
export type TributaryAdapterConstructor = (nsp: Namespace) => TributaryAdapter;

const DEFAULT_TOPIC = 'socket.io';
const DEFAULT_SESSION_TTL_MS = 7 * 24 * 3_600_000;

function warn(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : new Error(String(error)), {
    code: 'TRIBUTARY_SOCKET_IO',
  });
}

/**
 * An adapter for `io.adapter(…)`. One Tributary connection serves every namespace of the server;
 * it opens at once and each namespace's adapter has `ready` (resolves when subscribed).
 */
export function createAdapter(options: TributaryAdapterOptions): TributaryAdapterConstructor {
  if (options.url === undefined && options.client === undefined) {
    throw new TypeError('createAdapter needs `url` (ws://host:port/v1/ws) or `client`');
  }
  const topic = options.topic ?? DEFAULT_TOPIC;
  const sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  if (!Number.isSafeInteger(sessionTtlMs) || sessionTtlMs < 1) {
    throw new TypeError('createAdapter: sessionTtlMs must be a positive integer (ms)');
  }
  const onError = options.onError ?? warn;
  let bus: SocketIoBus | undefined;
  let sessions: SessionStore | undefined;
  const openBus = (): SocketIoBus => {
    if (bus === undefined || bus.closed) {
      bus = new SocketIoBus({
        connect: {
          url: options.url ?? '',
          ...(options.auth === undefined ? {} : { auth: options.auth }),
          ...(options.tls === undefined ? {} : { tls: options.tls }),
          clientName: 'socket.io-adapter',
        },
        ...(options.client === undefined ? {} : { client: options.client }),
        topic,
        controlTopic: options.controlTopic ?? `${topic}.control`,
        partitions: options.partitions ?? 1,
        controlRetentionMs: options.controlRetentionMs ?? 3_600_000,
        sessionsCollection: options.sessionsCollection ?? `${topic}.sessions`,
        onError,
      });
      sessions = undefined;
    }
    return bus;
  };
  const sessionStore = (): SessionStore => {
    const current = openBus();
    if (sessions === undefined) {
      const store = new SessionStore(current.sessions(), { ttlMs: sessionTtlMs, onError });
      current.onClose(() => store.close());
      sessions = store;
    }
    return sessions;
  };
  // A `function`, not an arrow: Socket.IO calls it with `new`.
  return function tributaryAdapter(nsp: Namespace): TributaryAdapter {
    return new TributaryAdapter(nsp, openBus(), sessionStore, {
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 5_000,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 10_000,
      recoveryPacketsMax: options.recoveryPacketsMax ?? 10_000,
      recoveryFetchRecords: options.recoveryFetchRecords ?? 1_000,
      onRecoveryFailed: options.onRecoveryFailed,
      onError,
    });
  };
}
