/**
 * The behaviours the official Socket.IO protocol test suite (socketio/socket.io-protocol,
 * test-suite/test-suite.js) checks, run against Tributary's endpoint with raw HTTP requests and
 * a raw WebSocket: engine.io handshake, ping/pong, close, upgrade from polling, Socket.IO
 * connect/disconnect, packet encodings with acks and binary attachments, and the refusal of
 * malformed packets. Where the suite's echo server answers the sender, the endpoint delivers
 * to the namespace's other clients and acks with the offset, so those expectations are the
 * endpoint's. Then hostile input: every malformed or oversize packet ends only its own
 * connection, and a bystander keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { start, type TestServer, tempDir } from './http-helpers.js';

const PING_INTERVAL_MS = 300;
const PING_TIMEOUT_MS = 200;
const MESSAGE_BYTES_MAX = 64 * 1024;

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: TestServer;
let http: string;
let ws: string;

beforeAll(async () => {
  dir = await tempDir('tributary-sio-protocol-');
  server = await start(dir.path, {
    socketioPingIntervalMs: PING_INTERVAL_MS,
    socketioPingTimeoutMs: PING_TIMEOUT_MS,
    socketioConnectTimeoutMs: 1500,
    socketioMessageBytesMax: MESSAGE_BYTES_MAX,
  });
  http = `${server.url}/socket.io/?EIO=4`;
  ws = `${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
});

afterAll(async () => {
  await server.close();
  await dir.remove();
});

type Message = string | Buffer;

/** A raw WebSocket whose messages queue until read; pings are answered unless `answerPings` is false. */
class RawSocket {
  readonly socket: WebSocket;
  readonly #queue: Message[] = [];
  #waiter: (() => void) | undefined;
  closed: Promise<number>;

  constructor(url: string, { answerPings = true } = {}) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (data: Buffer, binary: boolean) => {
      const message = binary ? data : data.toString();
      if (answerPings && message === '2') {
        this.socket.send('3');
        return;
      }
      this.#queue.push(message);
      this.#waiter?.();
    });
    this.closed = new Promise((resolve) => this.socket.once('close', (code) => resolve(code)));
    // A refused upgrade is an error on the client; the tests look at `closed`.
    this.socket.on('error', () => undefined);
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  async next(): Promise<Message> {
    while (this.#queue.length === 0) {
      await new Promise<void>((resolve, reject) => {
        this.#waiter = resolve;
        void this.closed.then(() => reject(new Error('closed while waiting for a message')));
      });
    }
    return this.#queue.shift() as Message;
  }

  send(data: string | Uint8Array): void {
    this.socket.send(data);
  }

  close(): void {
    this.socket.close();
  }
}

/** An engine.io WebSocket session joined to the main namespace (after the endpoint's tributary:offset event). */
async function socketIoConnection(nsp = ''): Promise<RawSocket> {
  const socket = new RawSocket(ws);
  expect(String(await socket.next())).toMatch(/^0\{/);
  socket.send(`40${nsp}`);
  expect(String(await socket.next())).toMatch(new RegExp(`^40${nsp}\\{"sid":"[^"]+","pid":"[^"]+"\\}$`));
  expect(String(await socket.next())).toMatch(
    new RegExp(`^42${nsp}\\["tributary:offset","\\d+-(start|\\d+)"\\]$`),
  );
  return socket;
}

async function openPolling(): Promise<string> {
  const response = await fetch(`${http}&transport=polling`);
  const content = await response.text();
  return (JSON.parse(content.slice(1)) as { sid: string }).sid;
}

describe('engine.io protocol', () => {
  it('opens a long-polling session with the handshake values', async () => {
    const response = await fetch(`${http}&transport=polling`);
    expect(response.status).toBe(200);
    const content = await response.text();
    expect(content.startsWith('0')).toBe(true);
    const value = JSON.parse(content.slice(1)) as Record<string, unknown>;
    expect(Object.keys(value).sort()).toEqual([
      'maxPayload',
      'pingInterval',
      'pingTimeout',
      'sid',
      'upgrades',
    ]);
    expect(value.upgrades).toEqual(['websocket']);
    expect(value.pingInterval).toBe(PING_INTERVAL_MS);
    expect(value.pingTimeout).toBe(PING_TIMEOUT_MS);
    expect(value.maxPayload).toBe(MESSAGE_BYTES_MAX);
  });

  it('refuses a bad EIO, a bad transport and a bad method with 400', async () => {
    const base = `${server.url}/socket.io/`;
    for (const [url, method] of [
      [`${base}?transport=polling`, 'GET'],
      [`${base}?EIO=abc&transport=polling`, 'GET'],
      [`${base}?EIO=4`, 'GET'],
      [`${base}?EIO=4&transport=abc`, 'GET'],
      [`${base}?EIO=4&transport=polling`, 'POST'],
      [`${base}?EIO=4&transport=polling`, 'PUT'],
    ] as const) {
      const response = await fetch(url, { method });
      expect(response.status, `${method} ${url}`).toBe(400);
      await response.arrayBuffer();
    }
  });

  it('opens a WebSocket session; refuses a bad EIO or transport on upgrade', async () => {
    const socket = new RawSocket(ws);
    const handshake = JSON.parse(String(await socket.next()).slice(1)) as Record<string, unknown>;
    expect(handshake.upgrades).toEqual([]);
    socket.close();
    for (const url of [
      ws.replace('EIO=4&', ''),
      ws.replace('EIO=4', 'EIO=abc'),
      ws.replace('&transport=websocket', ''),
      ws.replace('transport=websocket', 'transport=abc'),
    ]) {
      const bad = new RawSocket(url);
      await bad.closed;
      await expect(bad.next()).rejects.toThrow('closed');
    }
  });

  it('pings and takes pongs on long-polling; closes the session on ping timeout', async () => {
    const sid = await openPolling();
    for (let i = 0; i < 3; i++) {
      const poll = await fetch(`${http}&transport=polling&sid=${sid}`);
      expect(poll.status).toBe(200);
      expect(await poll.text()).toBe('2');
      const push = await fetch(`${http}&transport=polling&sid=${sid}`, { method: 'POST', body: '3' });
      expect(push.status).toBe(200);
      await push.text();
    }
    const silent = await openPolling();
    // No pong: after the interval and the timeout the session is gone.
    const first = await fetch(`${http}&transport=polling&sid=${silent}`);
    expect(await first.text()).toBe('2');
    await new Promise((resolve) => setTimeout(resolve, PING_INTERVAL_MS + PING_TIMEOUT_MS + 100));
    const late = await fetch(`${http}&transport=polling&sid=${silent}`);
    expect(late.status).toBe(400);
    await late.text();
  });

  it('pings and takes pongs on WebSocket; closes it on ping timeout', async () => {
    const socket = new RawSocket(ws, { answerPings: false });
    await socket.next();
    for (let i = 0; i < 3; i++) {
      expect(await socket.next()).toBe('2');
      socket.send('3');
    }
    socket.close();
    const silent = new RawSocket(ws, { answerPings: false });
    await silent.closed;
  });

  it('closes a session on a close packet (polling and WebSocket)', async () => {
    const sid = await openPolling();
    const [poll] = await Promise.all([
      fetch(`${http}&transport=polling&sid=${sid}`),
      fetch(`${http}&transport=polling&sid=${sid}`, { method: 'POST', body: '1' }).then((r) => r.text()),
    ]);
    expect(await poll.text()).toBe('6');
    const after = await fetch(`${http}&transport=polling&sid=${sid}`);
    expect(after.status).toBe(400);
    await after.text();
    const socket = new RawSocket(ws);
    await socket.next();
    socket.send('1');
    await socket.closed;
  });

  it('upgrades from long-polling to WebSocket; the old transport and a second upgrade are refused', async () => {
    const sid = await openPolling();
    const socket = new RawSocket(`${ws}&sid=${sid}`);
    await socket.opened();
    socket.send('2probe');
    expect(await socket.next()).toBe('3probe');
    socket.send('5');
    // The upgrade takes effect once the pending poll is answered (a noop) and the 5 arrives.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const poll = await fetch(`${http}&transport=polling&sid=${sid}`);
    expect(poll.status).toBe(400);
    await poll.text();
    const second = new RawSocket(`${ws}&sid=${sid}`);
    await second.closed;
    socket.close();
  });
});

describe('Socket.IO protocol', () => {
  it('connects to the main namespace and to another, with or without a payload', async () => {
    const socket = await socketIoConnection();
    socket.send('40/custom,{"token":"ignored without security"}');
    expect(String(await socket.next())).toMatch(/^40\/custom,\{"sid":"[^"]+","pid":"[^"]+"\}$/);
    expect(String(await socket.next())).toMatch(/^42\/custom,\["tributary:offset","\d+-(start|\d+)"\]$/);
    socket.close();
  });

  it('refuses a namespace it does not serve, an invalid handshake, and a connection that joins none', async () => {
    const socket = new RawSocket(ws);
    await socket.next();
    socket.send(`40/${'x'.repeat(300)},`);
    expect(await socket.next()).toBe(`44/${'x'.repeat(300)},{"message":"Invalid namespace"}`);
    socket.send('4abc');
    await socket.closed;
    const idle = new RawSocket(ws);
    await idle.next();
    await idle.closed;
  });

  it('disconnects from a namespace and keeps the others', async () => {
    const socket = await socketIoConnection();
    const peer = await socketIoConnection();
    socket.send('40/custom,');
    await socket.next();
    await socket.next();
    socket.send('41/custom,');
    socket.send('42["message","to the main namespace"]');
    expect(String(await peer.next())).toMatch(/^42\["message","to the main namespace","\d+-\d+"\]$/);
    socket.send('41');
    socket.close();
    peer.close();
  });

  it('takes plain-text and binary packets, with and without acks, and delivers them to the other clients', async () => {
    const sender = await socketIoConnection('/encodings,');
    const receiver = await socketIoConnection('/encodings,');
    sender.send('42/encodings,["message",1,"2",{"3":[true]}]');
    expect(await receiver.next()).toMatch(/^42\/encodings,\["message",1,"2",\{"3":\[true\]\},"0-\d+"\]$/);

    sender.send('452-/encodings,["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    sender.send(Uint8Array.from([1, 2, 3]));
    sender.send(Uint8Array.from([4, 5, 6]));
    expect(await receiver.next()).toMatch(
      /^452-\/encodings,\["message",\{"_placeholder":true,"num":0\},\{"_placeholder":true,"num":1\},"0-\d+"\]$/,
    );
    expect(await receiver.next()).toEqual(Buffer.from([1, 2, 3]));
    expect(await receiver.next()).toEqual(Buffer.from([4, 5, 6]));

    sender.send('42/encodings,456["message-with-ack",1,"2",{"3":[false]}]');
    expect(await sender.next()).toMatch(
      /^43\/encodings,456\[\{"topic":"socket.io","partition":0,"offset":\d+\}\]$/,
    );
    sender.send(
      '452-/encodings,789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
    );
    sender.send(Uint8Array.from([1, 2, 3]));
    sender.send(Uint8Array.from([4, 5, 6]));
    expect(await sender.next()).toMatch(
      /^43\/encodings,789\[\{"topic":"socket.io","partition":0,"offset":\d+\}\]$/,
    );
    expect(String(await receiver.next())).toMatch(/^42\/encodings,\["message-with-ack",1,"2"/);
    expect(String(await receiver.next())).toMatch(/^452-\/encodings,\["message-with-ack"/);
    sender.close();
    receiver.close();
  });
});

describe('hostile input', () => {
  const malformed: [string, (socket: RawSocket) => void][] = [
    ['an unknown packet type', (s) => s.send('4abc')],
    ['an invalid payload', (s) => s.send('42{}')],
    ['an invalid ack id', (s) => s.send('42abc["message-with-ack",1]')],
    ['an unknown engine.io packet type', (s) => s.send('9')],
    ['an empty message', (s) => s.send('')],
    ['unterminated JSON', (s) => s.send('42["a",{"b":')],
    ['binary without a packet announcing it', (s) => s.send(Uint8Array.from([1, 2, 3]))],
    ['too many attachments', (s) => s.send(`45100-["x",${'{"_placeholder":true,"num":0},'.repeat(3)}1]`)],
    [
      'a message over socketioMessageBytesMax',
      (s) => s.send(`42["big","${'x'.repeat(MESSAGE_BYTES_MAX + 10)}"]`),
    ],
  ];

  for (const [what, attack] of malformed) {
    it(`closes a connection that sends ${what}; a bystander keeps working`, async () => {
      const bystander = await socketIoConnection('/hostile,');
      const witness = await socketIoConnection('/hostile,');
      const attacker = await socketIoConnection('/hostile,');
      attack(attacker);
      await attacker.closed;
      bystander.send('42/hostile,1["still-here"]');
      expect(await bystander.next()).toMatch(
        /^43\/hostile,1\[\{"topic":"socket.io","partition":0,"offset":\d+\}\]$/,
      );
      expect(String(await witness.next())).toMatch(/^42\/hostile,\["still-here","0-\d+"\]$/);
      bystander.close();
      witness.close();
    });
  }

  it('refuses a polling request body over socketioMessageBytesMax; a deeply nested event is refused, not fatal', async () => {
    const sid = await openPolling();
    const big = await fetch(`${http}&transport=polling&sid=${sid}`, {
      method: 'POST',
      body: `4${'0'.repeat(MESSAGE_BYTES_MAX + 10)}`,
    });
    expect(big.status).toBe(413);
    await big.text();
    const socket = await socketIoConnection('/deep,');
    const peer = await socketIoConnection('/deep,');
    // Nesting deep enough to overflow a recursive encoder: the event is refused or delivered, the server lives.
    socket.send(`42/deep,1["deep",${'['.repeat(20_000)}${']'.repeat(20_000)}]`);
    const answer = String(await socket.next());
    expect(answer).toMatch(/^43\/deep,1\[/);
    peer.send('42/deep,2["after"]');
    expect(String(await peer.next())).toMatch(/^43\/deep,2\[\{"topic":"socket.io"/);
    socket.close();
    peer.close();
  });
});
