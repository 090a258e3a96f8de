/**
 * @module server/front/socketio
 * The Socket.IO endpoint: the official `socket.io` server (engine.io v4: WebSocket and
 * long-polling) answering at `/socket.io/` on the server's HTTP port, on the Broker API
 * (docs/socket.io.md, "The endpoint"). A namespace is a topic (`namespaces.ts`); what a client
 * emits is appended and delivered to the namespace's other clients in log order
 * (`socket-bridge.ts`); records from any other front end reach them too (`records.ts`).
 *
 * - Requests and upgrades pass the server's one browser policy (`auth/browser.ts`) before
 *   engine.io sees them: the HTTP router applies it (and the CORS answers) to polling requests,
 *   this module to upgrades. engine.io's own `cors` stays off, so there is one policy.
 * - Each namespace connection authenticates with the handshake's `auth` payload
 *   (`handshake-auth.ts`) and gets its own session; what it does goes through the guarded
 *   broker and collections. A refused one gets `connect_error` whose `data` is the typed error.
 * - Connection state recovery is Socket.IO's own (the client keeps `pid` and its last offset),
 *   backed by the log: the session table (`sessions.ts`) survives restarts and the missed events
 *   are read from the topic, so recovery lasts as long as the topic keeps them.
 *
 * The server attaches it through `attach.ts`, which loads this module on the first request or
 * upgrade to `/socket.io/`.
 *
 * @example
 * const sio = await openSocketIoEndpoint(broker, { systemBroker, logger, metrics, browser });
 * if (sio.handles(path)) sio.handleRequest(req, res); // polling, after the browser policy
 * sio.handleUpgrade(req, socket, head); // WebSocket
 * await sio.close();
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Server as EngineServer } from 'engine.io';
import { type Namespace, type Socket, Server as SocketIoServer } from 'socket.io';
import type { Adapter, PrivateSessionId, Session as RecoverySession } from 'socket.io-adapter';
import * as ws from 'ws';
import type { Broker } from '../../../broker/types.js';
import { isTributaryError, TributaryError } from '../../../errors.js';
import { BrowserPolicy } from '../../auth/browser.js';
import { certificatePrincipal, sessionWithoutCredentials } from '../../auth/certificate.js';
import { credentialsFromHeader } from '../../auth/credentials.js';
import { guardBroker, guardCollections } from '../../auth/guard.js';
import type { QuotaLease } from '../../auth/quotas.js';
import { LocalSession } from '../../auth/session.js';
import type { ConnectionInfo, Session } from '../../auth/types.js';
import { answerRefusedUpgrade } from '../ws/index.js';
import { isEndpointPath, type SocketIoEndpoint, type SocketIoEndpointOptions } from './attach.js';
import { credentialsFromAuthPayload } from './handshake-auth.js';
import { resolveSocketIoLimits } from './limits.js';
import { isNamespaceName, namespacePartition, SOCKET_IO_TOPIC } from './namespaces.js';
import { PacketCache, wsFrameBuilder } from './packet-cache.js';
import { resumeOffset } from './positions.js';
import { SESSIONS_TOPIC, SessionTable } from './sessions.js';
import { SharedFeeds } from './shared-feed.js';
import { SocketBridge } from './socket-bridge.js';

export { SOCKETIO_DEFAULTS, SOCKETIO_SETTING_NAMES, type SocketIoLimits } from './limits.js';

/** The endpoint once loaded: it also answers the upgrades `attach.ts` hands it. */
export interface OpenSocketIoEndpoint extends SocketIoEndpoint {
  /** Answers an upgrade to `/socket.io/…` (the browser policy is applied here). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** What the endpoint keeps of a restored session until its middleware runs. */
interface Resume {
  readonly next: number;
  readonly principal: string;
}
const RESUME = Symbol('tributary.resume');

/** What a socket holds once its middleware accepted it. */
interface Accepted {
  readonly session: Session;
  readonly bridge: SocketBridge;
  readonly quota: QuotaLease | undefined;
}
const ACCEPTED = Symbol('tributary.accepted');

/**
 * Opens the endpoint: reads the session table, then starts engine.io and Socket.IO. The server
 * loads this module on the first request or upgrade to `/socket.io/` (`attach.ts`).
 */
export async function openSocketIoEndpoint(
  broker: Broker,
  options: SocketIoEndpointOptions,
): Promise<OpenSocketIoEndpoint> {
  const limits = resolveSocketIoLimits(options.limits);
  const { logger, metrics } = options;
  const browser = options.browser ?? new BrowserPolicy();
  const catchUp = options.catchUp;
  const sessions = await SessionTable.open(options.systemBroker, {
    sessionsMax: limits.socketioSessionsMax,
    ttlMs: limits.socketioSessionTtlMs,
    logger,
    ...(catchUp === undefined ? {} : { catchUp: () => catchUp(SESSIONS_TOPIC, 0) }),
  });
  const engine = new EngineServer({
    pingInterval: limits.socketioPingIntervalMs,
    pingTimeout: limits.socketioPingTimeoutMs,
    maxHttpBufferSize: limits.socketioMessageBytesMax,
    // Compression would let a small frame inflate past the limit.
    perMessageDeflate: false,
    allowEIO3: false,
  });
  // Socket.IO's own recovery keeps missed packets in memory for two minutes; the endpoint's
  // adapter (on the in-memory one this socket.io uses) restores sessions from the session table
  // and the log instead.
  const BaseAdapter = Object.getPrototypeOf(new SocketIoServer().of('/').adapter)
    .constructor as typeof Adapter;
  class LogSessionAdapter extends BaseAdapter {
    override persistSession(): void {
      // Saved on connect and on every room change instead (a SIGKILL must lose nothing).
    }
    override restoreSession(pid: PrivateSessionId, offset: string): Promise<RecoverySession> {
      // Socket.IO takes null for "nothing to restore".
      return restore(this.nsp, pid, offset) as Promise<RecoverySession>;
    }
  }
  const io = new SocketIoServer({
    serveClient: false,
    cleanupEmptyChildNamespaces: true,
    connectTimeout: limits.socketioConnectTimeoutMs,
    adapter: LogSessionAdapter,
    connectionStateRecovery: {
      maxDisconnectionDuration: limits.socketioSessionTtlMs,
      skipMiddlewares: false,
    },
  });
  io.bind(engine);
  const packets = new PacketCache(io.encoder, wsFrameBuilder(ws));
  // One subscription per partition for every socket at the tail (shared-feed.ts).
  const feeds = new SharedFeeds(broker, SOCKET_IO_TOPIC);

  const restore = async (nsp: Namespace, pid: string, offset: string): Promise<RecoverySession | null> => {
    const resume = resumeOffset(offset);
    if (resume === undefined) return null;
    // Gateways over one log: the session, or its latest rooms, may have been stored through
    // another gateway, and the client may have read events this one has not applied yet.
    await sessions.follow();
    const saved = sessions.get(pid);
    if (saved === undefined || saved.nsp !== nsp.name) return null;
    const description = await options.systemBroker.describeTopic(SOCKET_IO_TOPIC);
    if (resume.partition !== namespacePartition(nsp.name, description.partitions.length)) return null;
    await catchUp?.(SOCKET_IO_TOPIC, resume.partition);
    const { earliest, next } = await options.systemBroker.offsets(SOCKET_IO_TOPIC, resume.partition);
    // History gone (retention, compaction) or never written: no silent gap, a fresh session.
    if (resume.next < earliest || resume.next > next) return null;
    // The client came back before its old connection was noticed dead: that one goes first, or
    // its cleanup would take the restored socket's id out of the namespace.
    nsp.sockets.get(saved.sid)?.disconnect(true);
    const held: Resume = { next: resume.next, principal: saved.principal };
    return { sid: saved.sid, pid, rooms: [...saved.rooms], data: { [RESUME]: held }, missedPackets: [] };
  };

  // One topic check (and creation) at a time per topic: clients arriving together wait for it.
  const pendingTopics = new Map<string, Promise<number>>();
  const ensuring = (topic: string, check: () => Promise<number>): Promise<number> => {
    const previous = pendingTopics.get(topic) ?? Promise.resolve(0);
    const next = previous.catch(() => 0).then(check);
    pendingTopics.set(topic, next);
    const forget = (): void => {
      if (pendingTopics.get(topic) === next) pendingTopics.delete(topic);
    };
    next.then(forget, forget);
    return next;
  };

  const connectionInfo = (socket: Socket): ConnectionInfo => ({
    protocol: 'socketio',
    remoteAddress: socket.conn.remoteAddress ?? '',
  });

  const authenticate = async (socket: Socket): Promise<Session> => {
    const security = options.security;
    const info = connectionInfo(socket);
    if (security === undefined || !security.enabled) return new LocalSession(info);
    const request = socket.request;
    const secure = (request.socket as Partial<TLSSocket>).encrypted === true;
    const ambient = browser.ambientCredentialsAllowed(request.headers.origin, request.headers.host, secure);
    const credentials =
      credentialsFromAuthPayload(socket.handshake.auth) ??
      (ambient ? credentialsFromHeader(request.headers.authorization) : undefined);
    if (credentials !== undefined) return security.authenticate(credentials, info);
    return sessionWithoutCredentials(security, ambient ? certificatePrincipal(request.socket) : null, info);
  };

  const accept = async (socket: Socket): Promise<Accepted> => {
    const session = await authenticate(socket);
    let quota: QuotaLease | undefined;
    try {
      quota = options.quotas?.connect(session.principal.name);
      const guarded = options.security?.enabled === true ? guardBroker(broker, session) : broker;
      const collections =
        options.collections === undefined
          ? undefined
          : options.security?.enabled === true
            ? guardCollections(options.collections, session)
            : options.collections;
      const topic = SOCKET_IO_TOPIC;
      const partitions = await ensuring(topic, () => topicPartitions(guarded, topic));
      const partition = namespacePartition(socket.nsp.name, partitions);
      const resume = (socket.data as Record<symbol, Resume | undefined>)[RESUME];
      if (resume !== undefined && resume.principal !== session.principal.name) {
        throw new TributaryError('UNAUTHENTICATED', {
          reason: 'the session to recover belongs to another principal',
        });
      }
      // Refused here rather than at the first delivery: a client without `read` gets a connect_error.
      if (options.security?.enabled === true) session.authorize('topic', topic, 'read');
      const next = resume?.next ?? (await guarded.offsets(topic, partition)).next;
      const saveRooms = (rooms: readonly string[]): Promise<void> =>
        sessions.save({
          pid: pidOf(socket) ?? '',
          sid: socket.id,
          nsp: socket.nsp.name,
          principal: session.principal.name,
          rooms,
        });
      const authorizeRead =
        options.security?.enabled === true ? () => session.authorize('topic', topic, 'read') : undefined;
      const bridge = new SocketBridge(
        socket,
        {
          broker: guarded,
          collections,
          topic,
          partition,
          limits,
          metrics,
          logger,
          packets,
          saveRooms,
          feeds,
          authorizeRead,
        },
        next,
      );
      if (pidOf(socket) !== undefined) await saveRooms(bridge.rooms());
      return { session, bridge, quota };
    } catch (error) {
      quota?.release();
      session.close();
      throw error;
    }
  };

  const middleware = (socket: Socket, next: (error?: Error) => void): void => {
    accept(socket).then(
      (accepted) => {
        (socket.data as Record<symbol, Accepted>)[ACCEPTED] = accepted;
        next();
      },
      (error: unknown) => {
        const typed = isTributaryError(error) ? error : new TributaryError('INTERNAL');
        if (!isTributaryError(error)) logger.warn({ err: error }, 'Socket.IO connect failed');
        metrics.errors.inc({ frontend: 'socketio', code: typed.code });
        const refusal = new Error(typed.message) as Error & { data: unknown };
        refusal.data = { code: typed.code, message: typed.message, retriable: typed.retriable };
        next(refusal);
      },
    );
  };

  const onConnection = (socket: Socket): void => {
    const accepted = (socket.data as Record<symbol, Accepted | undefined>)[ACCEPTED];
    if (accepted === undefined) {
      socket.disconnect(true);
      return;
    }
    const { session, bridge, quota } = accepted;
    metrics.connections.inc({ frontend: 'socketio' });
    const unlisten = session.onEnd((error) => {
      socket.emit('tributary:error', { code: error.code, message: error.message });
      socket.disconnect(true);
    });
    socket.once('disconnect', (reason) => {
      metrics.connections.dec({ frontend: 'socketio' });
      bridge.close();
      unlisten();
      session.close();
      quota?.release();
      // A client that left on purpose, or was sent away (disconnectSockets of an adapter server,
      // its session ended), does not come back for its session.
      const pid = pidOf(socket);
      if (
        (reason === 'client namespace disconnect' || reason === 'server namespace disconnect') &&
        pid !== undefined
      ) {
        sessions.remove(pid).catch((error: unknown) => logger.debug({ err: error }, 'session not removed'));
      }
    });
    // The client's offset from the start, so it can recover even before its first event.
    socket.emit('tributary:offset', bridge.offset);
    bridge.start().catch((error: unknown) => {
      const typed = isTributaryError(error) ? error : new TributaryError('INTERNAL');
      socket.emit('tributary:error', { code: typed.code, message: typed.message });
      socket.disconnect(true);
    });
  };

  // Namespaces: `/` and every one-level name; others get Socket.IO's own "Invalid namespace".
  const children = io.of((name, _auth, next) => next(null, isNamespaceName(name)));
  for (const nsp of [io.of('/'), children]) {
    nsp.use(middleware);
    nsp.on('connection', onConnection);
  }

  let closing: Promise<void> | undefined;
  const handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (
      answerRefusedUpgrade(request, socket, 'socketio', { closing: closing !== undefined, browser, metrics })
    ) {
      return;
    }
    engine.handleUpgrade(request, socket, head);
  };

  return {
    handles: isEndpointPath,
    handleUpgrade,
    handleRequest: (req, res) => {
      if (closing !== undefined) {
        res.writeHead(503, { connection: 'close' }).end();
        return;
      }
      engine.handleRequest(req, res);
    },
    close: () => {
      closing ??= (async () => {
        await io.close();
        await feeds.close();
      })();
      return closing;
    },
  };
}

/** The number of partitions of `topic`, created (one partition: one order) when missing. */
async function topicPartitions(broker: Broker, topic: string): Promise<number> {
  try {
    return (await broker.describeTopic(topic)).partitions.length;
  } catch (error) {
    if (!isTributaryError(error, 'TOPIC_NOT_FOUND')) throw error;
  }
  try {
    return (await broker.createTopic(topic, { partitions: 1 })).partitions.length;
  } catch (error) {
    if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
    return (await broker.describeTopic(topic)).partitions.length;
  }
}

/** The private session id Socket.IO gives a socket when recovery is on (not in its public type). */
function pidOf(socket: Socket): string | undefined {
  return (socket as unknown as { pid?: string }).pid;
}
