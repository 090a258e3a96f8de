/**
 * Unit tests of the client connection against an in-memory fake transport: handshake, request
 * retry classes across disconnects, timeouts, the frame limit and heartbeats.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.js';
import { decodeClientFrame, encodeFrame } from '../protocol/native/frames.js';
import type { ClientFrame, ServerFrame, WireError } from '../protocol/native/types.js';
import { type AuthClock, ClientCredentials } from './auth.js';
import { ClientConnection } from './connection.js';
import type { TransportEvents, TransportFactory } from './transport.js';

interface FakeSocket {
  readonly sent: ClientFrame[];
  reply(frame: ServerFrame): void;
  /** Ends the connection as a network failure would. */
  drop(): void;
  closed: boolean;
}

function fakeNetwork(options: { accept?: () => boolean } = {}): {
  factory: TransportFactory;
  sockets: FakeSocket[];
} {
  const sockets: FakeSocket[] = [];
  const factory: TransportFactory = (_url, events: TransportEvents) => {
    const socket: FakeSocket = {
      sent: [],
      closed: false,
      reply: (frame) => {
        if (!socket.closed) events.message(encodeFrame(frame, 'msgpack'));
      },
      drop: () => {
        if (socket.closed) return;
        socket.closed = true;
        events.close({ code: 1006, reason: 'network' });
      },
    };
    sockets.push(socket);
    queueMicrotask(() => {
      if (options.accept?.() === false) socket.drop();
      else events.open();
    });
    return {
      send: (data) => socket.sent.push(decodeClientFrame(data).frame),
      close: () => socket.drop(),
      bufferedAmount: 0,
    };
  };
  return { factory, sockets };
}

const welcome = (sessionId = 's1', heartbeatMs = 60_000): ServerFrame => ({
  type: 'welcome',
  protocol: 1,
  server: 'fake/1',
  sessionId,
  maxFrameBytes: 4096,
  heartbeatMs,
});

const connections: ClientConnection[] = [];
function connection(
  factory: TransportFactory,
  overrides: Partial<ConstructorParameters<typeof ClientConnection>[0]> = {},
) {
  const c = new ClientConnection({
    url: 'ws://fake',
    clientName: 'test/1',
    transport: factory,
    reconnect: { initialDelayMs: 1, maxDelayMs: 5, jitter: 0 },
    requestTimeoutMs: 1_000,
    connectTimeoutMs: 1_000,
    queuedRequestsMax: 100,
    ...overrides,
  });
  connections.push(c);
  return c;
}

afterEach(() => {
  for (const c of connections.splice(0)) c.close();
});

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function opened(
  network: ReturnType<typeof fakeNetwork>,
  c: ClientConnection,
  index = 0,
): Promise<FakeSocket> {
  for (let i = 0; i < 200 && network.sockets.length <= index; i++) await tick(1);
  const socket = network.sockets[index]!;
  for (let i = 0; i < 200 && socket.sent.length === 0; i++) await tick(1);
  expect(socket.sent[0]).toMatchObject({ type: 'hello', protocol: 1, client: 'test/1' });
  socket.reply(welcome(`s${index + 1}`));
  expect(c.state).toBe('open');
  return socket;
}

/** A connection that has said hello and been welcomed on its first socket. */
async function openConnection(
  overrides: Partial<ConstructorParameters<typeof ClientConnection>[0]> = {},
  network = fakeNetwork(),
): Promise<{ network: ReturnType<typeof fakeNetwork>; c: ClientConnection; socket: FakeSocket }> {
  const c = connection(network.factory, overrides);
  const open = c.open();
  const socket = await opened(network, c);
  await open;
  return { network, c, socket };
}

function lastRequest(socket: FakeSocket): ClientFrame & { id: number } {
  const frame = socket.sent.at(-1)!;
  if (!('id' in frame)) throw new Error(`last frame is ${frame.type}`);
  return frame;
}

describe('ClientConnection', () => {
  it('says hello, opens on welcome and correlates responses by id', async () => {
    const { c, socket } = await openConnection();
    const result = c.request('offsets', { topic: 't', partition: 0 }, 'safe');
    const request = lastRequest(socket);
    expect(request).toMatchObject({ type: 'offsets', topic: 't', partition: 0 });
    socket.reply({ type: 'response', id: request.id, ok: { earliest: 0, next: 3 } });
    expect(await result).toEqual({ earliest: 0, next: 3 });
    const failing = c.request('describeTopic', { name: 'x' }, 'safe');
    socket.reply({
      type: 'response',
      id: lastRequest(socket).id,
      error: {
        code: 'TOPIC_NOT_FOUND',
        message: 'Topic "x" does not exist',
        details: { topic: 'x' },
        retriable: false,
      },
    });
    const error = await failing.catch((e: unknown) => e);
    expect(isTributaryError(error, 'TOPIC_NOT_FOUND')).toBe(true);
  });

  it('matches responses that come in any order to their requests, and ignores unknown ids', async () => {
    const { c, socket } = await openConnection();
    const results = [0, 1, 2, 3, 4].map((p) => c.request('offsets', { topic: 't', partition: p }, 'safe'));
    const ids = socket.sent.slice(-5).map((frame) => (frame as { id: number }).id);
    socket.reply({ type: 'response', id: 999_999, ok: { earliest: 0, next: 0 } });
    for (const index of [3, 0, 4, 2, 1]) {
      socket.reply({ type: 'response', id: ids[index]!, ok: { earliest: 0, next: index * 10 } });
    }
    // A second answer to the same id is ignored too.
    socket.reply({ type: 'response', id: ids[0]!, ok: { earliest: 0, next: 77 } });
    expect((await Promise.all(results)).map((r) => r.next)).toEqual([0, 10, 20, 30, 40]);
  });

  it('sends safe requests again after a reconnect and fails unsafe and session ones', async () => {
    const { network, c, socket: first } = await openConnection();
    const safe = c.request('fetch', { topic: 't', partition: 0, offset: 0 }, 'safe');
    const unsafe = c
      .request('produce', { topic: 't', records: [{ key: null, value: null }] }, 'unsafe')
      .catch((e) => e);
    const session = c.request('credit', { sub: 1, n: 1 }, 'session').catch((e) => e);
    first.drop();
    expect(isTributaryError(await unsafe, 'CONNECTION_LOST')).toBe(true);
    expect(isTributaryError(await session, 'CONNECTION_LOST')).toBe(true);
    // While disconnected: session requests fail at once, others wait.
    expect(
      isTributaryError(
        await c.request('heartbeat', { groupId: 'g', memberId: 'm' }, 'session').catch((e) => e),
        'CONNECTION_LOST',
      ),
    ).toBe(true);
    const waiting = c.request('listTopics', {}, 'unsafe');

    const second = await opened(network, c, 1);
    const resent = second.sent.filter((f) => f.type === 'fetch' || f.type === 'listTopics');
    expect(resent.map((f) => f.type)).toEqual(['fetch', 'listTopics']);
    expect(second.sent[0]).toMatchObject({ type: 'hello', resume: { sessionId: 's1' } });
    for (const frame of resent) {
      if (!('id' in frame)) continue;
      second.reply({
        type: 'response',
        id: frame.id,
        ok: frame.type === 'fetch' ? { records: [] } : { topics: [] },
      });
    }
    expect(await safe).toEqual({ records: [] });
    expect(await waiting).toEqual({ topics: [] });
  });

  it('times requests out with TIMEOUT', async () => {
    const { c } = await openConnection({ requestTimeoutMs: 20 });
    const error = await c.request('listTopics', {}, 'safe').catch((e: unknown) => e);
    expect(isTributaryError(error, 'TIMEOUT')).toBe(true);
  });

  it('times each request out at its own deadline, answered ones not at all', async () => {
    const { network, c } = await openConnection({ requestTimeoutMs: 40 });
    const settledAt = new Map<string, number>();
    const start = Date.now();
    const track = (name: string, request: Promise<unknown>) =>
      request.then(
        () => settledAt.set(name, -1),
        (e: unknown) => settledAt.set(name, isTributaryError(e, 'TIMEOUT') ? Date.now() - start : -2),
      );
    const first = track('first', c.request('listTopics', {}, 'safe'));
    const answered = track('answered', c.request('listTopics', {}, 'safe'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = track('second', c.request('listTopics', {}, 'safe'));
    const frame = network.sockets[0]!.sent.at(-2) as { id: number };
    network.sockets[0]!.reply({ type: 'response', id: frame.id, ok: { topics: [] } });
    await Promise.all([first, answered, second]);
    expect(settledAt.get('answered')).toBe(-1);
    expect(settledAt.get('first')).toBeGreaterThanOrEqual(39);
    expect(settledAt.get('second')).toBeGreaterThanOrEqual(59);
  });

  it('refuses to send a frame over the server limit', async () => {
    const { c, socket } = await openConnection();
    const error = await c
      .request('produce', { topic: 't', records: [{ key: null, value: new Uint8Array(5000) }] }, 'unsafe')
      .catch((e: unknown) => e);
    expect(isTributaryError(error, 'FRAME_TOO_LARGE')).toBe(true);
    expect(socket.sent.filter((f) => f.type === 'produce')).toHaveLength(0);
  });

  it('gives up at once when the server does not speak its protocol version', async () => {
    const network = fakeNetwork();
    const c = connection(network.factory);
    const open = c.open().catch((e: unknown) => e);
    for (let i = 0; i < 100 && network.sockets[0]?.sent.length !== 1; i++) await tick(1);
    network.sockets[0]!.reply({
      type: 'error',
      error: {
        code: 'UNSUPPORTED_VERSION',
        message: 'no',
        details: { version: 1, supported: '2' },
        retriable: false,
      },
    });
    expect(isTributaryError(await open, 'UNSUPPORTED_VERSION')).toBe(true);
    expect(c.state).toBe('closed');
  });

  it('answers pings, and drops a silent server after two heartbeat periods', async () => {
    const network = fakeNetwork();
    const c = connection(network.factory);
    const open = c.open();
    for (let i = 0; i < 100 && network.sockets[0]?.sent.length !== 1; i++) await tick(1);
    const socket = network.sockets[0]!;
    // A period long enough that the first tick sends its ping even when the machine is busy: a
    // tick later than 2.5 periods would find the server silent and close before pinging.
    socket.reply(welcome('s1', 150));
    await open;
    socket.reply({ type: 'ping', nonce: 4 });
    expect(socket.sent.at(-1)).toEqual({ type: 'pong', nonce: 4 });
    const disconnected = new Promise((resolve) => c.events.on('disconnect', resolve));
    await disconnected;
    expect(socket.closed).toBe(true);
    expect(socket.sent.some((f) => f.type === 'ping')).toBe(true);
  });

  it('keeps trying with backoff while the server is down', async () => {
    let accepting = true;
    const { network, c, socket: first } = await openConnection({}, fakeNetwork({ accept: () => accepting }));
    accepting = false;
    first.drop();
    for (let i = 0; i < 500 && network.sockets.length <= 3; i++) await tick(2);
    expect(network.sockets.length).toBeGreaterThan(3);
    expect(c.state).toBe('reconnecting');
    accepting = true;
    const reopened = new Promise<boolean>((resolve) =>
      c.events.on('open', (_s, reconnected) => resolve(reconnected)),
    );
    for (let i = 0; i < 100; i++) {
      const last = network.sockets.at(-1)!;
      if (!last.closed && last.sent.length === 1) {
        last.reply(welcome('s2'));
        break;
      }
      await tick(2);
    }
    expect(await reopened).toBe(true);
  });
});

describe('ClientConnection credentials', () => {
  const wireError = (code: string): WireError => ({ code, message: code, details: {}, retriable: false });

  /** A JWT (unsigned: the client never verifies) expiring `ttlMs` after the clock's now. */
  const tokenFor = (clock: FakeAuthClock, ttlMs: number, n: number): string => {
    const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part({ alg: 'HS256' })}.${part({ sub: 'alice', n, exp: Math.floor((clock.now() + ttlMs) / 1000) })}.sig`;
  };

  class FakeAuthClock implements AuthClock {
    nowMs = 1_700_000_000_000;
    timers = new Map<number, { at: number; callback: () => void }>();
    #id = 1;
    now(): number {
      return this.nowMs;
    }
    setTimeout(callback: () => void, delayMs: number): unknown {
      const id = this.#id++;
      this.timers.set(id, { at: this.nowMs + delayMs, callback });
      return id;
    }
    clearTimeout(handle: unknown): void {
      this.timers.delete(handle as number);
    }
    advance(ms: number): void {
      this.nowMs += ms;
      for (const [id, timer] of [...this.timers]) {
        if (timer.at <= this.nowMs) {
          this.timers.delete(id);
          timer.callback();
        }
      }
    }
  }

  function providerSetup(ttlMs = 100_000) {
    const clock = new FakeAuthClock();
    let calls = 0;
    const credentials = new ClientCredentials({ token: async () => tokenFor(clock, ttlMs, ++calls) }, clock);
    return { clock, credentials, calls: () => calls };
  }

  const helloAuth = (socket: FakeSocket): unknown => (socket.sent[0] as { auth?: unknown }).auth;

  async function until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !check(); i++) await tick(1);
    expect(check()).toBe(true);
  }

  it('sends the credential in every hello, asking a token provider again on each reconnect', async () => {
    const { credentials, calls } = providerSetup();
    const { network, c, socket } = await openConnection({ credentials });
    expect(helloAuth(socket)).toEqual({ token: expect.stringMatching(/\./) });
    socket.drop();
    await opened(network, c, 1);
    expect(calls()).toBe(2);
    expect(helloAuth(network.sockets[1]!)).not.toEqual(helloAuth(socket));
    const key = await openConnection({ credentials: new ClientCredentials({ apiKey: 'trb_k' }) });
    expect(helloAuth(key.socket)).toEqual({ apiKey: 'trb_k' });
    const user = await openConnection({
      credentials: new ClientCredentials({ username: 'alice', password: 'pw' }),
    });
    expect(helloAuth(user.socket)).toEqual({ username: 'alice', password: 'pw' });
  });

  it('refreshes the token in band before it expires, on the same socket, again and again', async () => {
    const { clock, credentials, calls } = providerSetup(100_000);
    const { network, c, socket } = await openConnection({ credentials });
    let disconnects = 0;
    c.events.on('disconnect', () => disconnects++);
    for (let round = 1; round <= 3; round++) {
      clock.advance(70_000); // 100 s tokens: 30 s before expiry
      await until(() => socket.sent.filter((f) => f.type === 'authenticate').length === round);
      const request = lastRequest(socket);
      expect(request).toMatchObject({ type: 'authenticate', auth: { token: expect.any(String) } });
      socket.reply({
        type: 'response',
        id: request.id,
        ok: { principal: 'alice', expiresAt: clock.now() + 100_000 },
      });
      await tick();
    }
    expect(calls()).toBe(4); // hello + 3 refreshes
    expect(network.sockets).toHaveLength(1);
    expect(disconnects).toBe(0);
    expect(c.state).toBe('open');
  });

  it('renews an expired session in band and opens again as after a reconnect', async () => {
    const { credentials } = providerSetup();
    const { network, c, socket } = await openConnection({ credentials });
    const events: string[] = [];
    c.events.on('disconnect', (error) => events.push(`disconnect ${error.code}`));
    c.events.on('open', (_s, reconnected) => events.push(`open ${reconnected}`));
    c.events.on('subscriptionClosed', (sub) => events.push(`closed ${sub}`));
    const expired = wireError('TOKEN_EXPIRED');
    socket.reply({ type: 'subscriptionClosed', sub: 1, error: expired });
    socket.reply({ type: 'subscriptionClosed', sub: 2, error: expired });
    socket.reply({ type: 'error', error: expired });
    const waiting = c.request('offsets', { topic: 't', partition: 0 }, 'safe');
    await until(() => socket.sent.some((f) => f.type === 'authenticate'));
    expect(events).toEqual(['disconnect TOKEN_EXPIRED']);
    expect(socket.sent.some((f) => f.type === 'offsets')).toBe(false); // waits for the renewal
    socket.reply({
      type: 'response',
      id: lastRequest(socket).id,
      ok: { principal: 'alice', expiresAt: null },
    });
    await until(() => socket.sent.some((f) => f.type === 'offsets'));
    expect(events).toEqual(['disconnect TOKEN_EXPIRED', 'open true']);
    socket.reply({ type: 'response', id: lastRequest(socket).id, ok: { earliest: 0, next: 1 } });
    expect(await waiting).toEqual({ earliest: 0, next: 1 });
    expect(network.sockets).toHaveLength(1);
  });

  it('reconnects with a fresh token when the renewal itself is refused as expired', async () => {
    const { credentials, calls } = providerSetup();
    const { network, c, socket } = await openConnection({ credentials });
    const failed: string[] = [];
    c.events.on('authFailed', (error) => failed.push(error.code));
    socket.reply({ type: 'subscriptionClosed', sub: 1, error: wireError('TOKEN_EXPIRED') });
    await until(() => socket.sent.some((f) => f.type === 'authenticate'));
    socket.reply({ type: 'response', id: lastRequest(socket).id, error: wireError('TOKEN_EXPIRED') });
    await opened(network, c, 1);
    expect(failed).toEqual([]);
    expect(calls()).toBe(3); // hello, renewal, hello again
  });

  it('sends a request refused with TOKEN_EXPIRED again after the renewal', async () => {
    const { credentials } = providerSetup();
    const { c, socket } = await openConnection({ credentials });
    const result = c.request('offsets', { topic: 't', partition: 0 }, 'safe');
    socket.reply({ type: 'response', id: lastRequest(socket).id, error: wireError('TOKEN_EXPIRED') });
    await until(() => socket.sent.some((f) => f.type === 'authenticate'));
    socket.reply({
      type: 'response',
      id: lastRequest(socket).id,
      ok: { principal: 'alice', expiresAt: null },
    });
    await until(() => socket.sent.filter((f) => f.type === 'offsets').length === 2);
    socket.reply({ type: 'response', id: lastRequest(socket).id, ok: { earliest: 0, next: 2 } });
    expect(await result).toEqual({ earliest: 0, next: 2 });
  });

  it('ends for good, without reconnecting, when hello is refused after a reconnect', async () => {
    const { credentials } = providerSetup();
    const { network, c, socket } = await openConnection({ credentials });
    const failed: string[] = [];
    c.events.on('authFailed', (error) => failed.push(error.code));
    socket.drop();
    await until(() => network.sockets.length === 2 && network.sockets[1]!.sent.length > 0);
    network.sockets[1]!.reply({ type: 'error', error: wireError('UNAUTHENTICATED') });
    await tick(50); // reconnect delays are 1–5 ms here: a storm would show
    expect(failed).toEqual(['UNAUTHENTICATED']);
    expect(c.state).toBe('closed');
    expect(network.sockets).toHaveLength(2);
    const error = await c.request('offsets', { topic: 't', partition: 0 }, 'safe').catch((e: unknown) => e);
    expect(isTributaryError(error, 'CONNECTION_LOST')).toBe(true);
  });

  it('rejects the first open with UNAUTHENTICATED and tries once', async () => {
    const network = fakeNetwork();
    const c = connection(network.factory, { credentials: new ClientCredentials({ apiKey: 'wrong' }) });
    const open = c.open().catch((e: unknown) => e);
    await until(() => network.sockets.length === 1 && network.sockets[0]!.sent.length > 0);
    network.sockets[0]!.reply({ type: 'error', error: wireError('UNAUTHENTICATED') });
    expect(isTributaryError(await open, 'UNAUTHENTICATED')).toBe(true);
    await tick(30);
    expect(network.sockets).toHaveLength(1);
  });

  it('passes ACCESS_REVOKED to the subscription and ends the connection with it', async () => {
    const { network, c, socket } = await openConnection({
      credentials: new ClientCredentials({ username: 'alice', password: 'pw' }),
    });
    const seen: string[] = [];
    c.events.on('subscriptionClosed', (sub, error) => seen.push(`sub ${sub} ${error.code}`));
    c.events.on('authFailed', (error) => seen.push(`authFailed ${error.code}`));
    c.events.on('closed', () => seen.push('closed'));
    socket.reply({ type: 'subscriptionClosed', sub: 3, error: wireError('ACCESS_REVOKED') });
    expect(seen).toEqual(['sub 3 ACCESS_REVOKED', 'authFailed ACCESS_REVOKED', 'closed']);
    await tick(30);
    expect(network.sockets).toHaveLength(1);
  });

  it('ends when a fixed token expires (nothing can renew it)', async () => {
    const clock = new FakeAuthClock();
    const { c, socket } = await openConnection({
      credentials: new ClientCredentials({ token: tokenFor(clock, 60_000, 1) }, clock),
    });
    const failed: string[] = [];
    c.events.on('authFailed', (error) => failed.push(error.code));
    socket.reply({ type: 'subscriptionClosed', sub: 1, error: wireError('TOKEN_EXPIRED') });
    expect(failed).toEqual(['TOKEN_EXPIRED']);
    expect(c.state).toBe('closed');
  });

  it('reports a refused refresh and keeps the session, trying again later', async () => {
    const { clock, credentials } = providerSetup(100_000);
    const { c, socket } = await openConnection({ credentials });
    const errors: string[] = [];
    c.events.on('error', (error) => errors.push(error.code));
    clock.advance(70_000);
    await until(() => socket.sent.some((f) => f.type === 'authenticate'));
    socket.reply({ type: 'response', id: lastRequest(socket).id, error: wireError('UNAUTHENTICATED') });
    await until(() => errors.length === 1);
    expect(errors).toEqual(['UNAUTHENTICATED']);
    expect(c.state).toBe('open');
    clock.advance(5_000);
    await until(() => socket.sent.filter((f) => f.type === 'authenticate').length === 2);
  });
});
