/**
 * The SDK producer with several batches of a partition in flight (`maxInFlight`), against a real
 * server: answers held back and handed over out of order, a batch failing while later ones are in
 * flight (stored or not, retriable or not), and a connection cut with five batches in flight.
 * Each case checks that every record is stored once, in `send()` order, and that the `send()`
 * promises settle in that order. A transport between the SDK and the socket holds the
 * `appendBatch` answers and injects the failures; the server and the SDK are the real ones.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  connect,
  isTributaryError,
  nodeWebSocketTransport,
  type Producer,
  type RecordMetadata,
  type TransportFactory,
  type TributaryClient,
  text,
} from '../src/client/node/index.js';
import { TributaryError } from '../src/errors.js';
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeFrame,
  toWireError,
} from '../src/protocol/native/frames.js';
import type { WireFormat } from '../src/protocol/native/types.js';
import { type Harness, startHarness } from '../src/server/front/ws/testing/harness.js';

const harnesses: Harness[] = [];
const clients: TributaryClient[] = [];

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

/** What to do with the n-th `appendBatch` request instead of the usual. */
interface Injection {
  /** false: the server never sees the request; `error` is the answer. */
  readonly forward: boolean;
  readonly error: TributaryError;
}

/**
 * Sits between the SDK and its WebSocket: counts `appendBatch` requests the SDK sent and was not
 * yet answered, holds their answers while `hold` is on, and answers chosen requests with an error.
 */
class AppendControl {
  hold = false;
  /** `appendBatch` requests sent so far (all connections). */
  appends = 0;
  /** Most `appendBatch` requests sent and not yet answered at once. */
  maxOutstanding = 0;
  /** Error codes of `appendBatch` answers that came from the server. */
  readonly serverErrors: string[] = [];
  /** Request types sent, in order. */
  readonly sent: string[] = [];
  readonly inject = new Map<number, Injection>();
  #held: (() => void)[] = [];
  readonly #outstanding = new Set<number>();
  #replace = new Map<number, TributaryError>();
  #current: { close(code?: number, reason?: string): void } | undefined;

  readonly factory: TransportFactory = (url, events) => {
    const inner = nodeWebSocketTransport()(url, {
      open: () => events.open(),
      close: (info) => events.close(info),
      message: (data) => {
        const { frame, format } = decodeServerFrame(data);
        if (frame.type !== 'response' || !this.#outstanding.has(frame.id)) {
          events.message(data);
          return;
        }
        if ('error' in frame) this.serverErrors.push(frame.error.code);
        const replaced = this.#replace.get(frame.id);
        const answer = replaced === undefined ? data : errorFrame(frame.id, replaced, format);
        this.#answer(frame.id, () => events.message(answer));
      },
    });
    this.#current = inner;
    this.#outstanding.clear();
    this.#held = [];
    return {
      send: (data) => {
        const { frame, format } = decodeClientFrame(data);
        this.sent.push(frame.type);
        if (frame.type !== 'appendBatch') {
          inner.send(data);
          return;
        }
        const injection = this.inject.get(this.appends++);
        this.#outstanding.add(frame.id);
        this.maxOutstanding = Math.max(this.maxOutstanding, this.#outstanding.size);
        if (injection === undefined) inner.send(data);
        else if (injection.forward) {
          this.#replace.set(frame.id, injection.error);
          inner.send(data);
        } else {
          const answer = errorFrame(frame.id, injection.error, format);
          setImmediate(() => this.#answer(frame.id, () => events.message(answer)));
        }
      },
      close: (code, reason) => inner.close(code, reason),
      get bufferedAmount() {
        return inner.bufferedAmount;
      },
    };
  };

  /** Answers held back so far. */
  get held(): number {
    return this.#held.length;
  }

  /** Hands over the held answers, in `order` (indexes into the held ones; default as they came). */
  release(order?: readonly number[]): void {
    const held = this.#held;
    this.#held = [];
    this.hold = false;
    for (const index of order ?? held.map((_, i) => i)) held[index]!();
  }

  /** Cuts the connection; held answers are lost with it. */
  drop(): void {
    this.#held = [];
    this.hold = false;
    this.#current?.close(4000, 'injected fault');
  }

  #answer(id: number, deliver: () => void): void {
    const settle = () => {
      if (!this.#outstanding.delete(id)) return; // the connection it came on is gone
      deliver();
    };
    if (this.hold) this.#held.push(settle);
    else settle();
  }
}

function errorFrame(id: number, error: TributaryError, format: WireFormat): Uint8Array | string {
  return encodeFrame({ type: 'response', id, error: toWireError(error) }, format);
}

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function setup(options: { maxInFlight?: number } = {}): Promise<{
  harness: Harness;
  control: AppendControl;
  client: TributaryClient;
  producer: Producer;
}> {
  const harness = await startHarness();
  harnesses.push(harness);
  const control = new AppendControl();
  const client = await connect({
    url: harness.url,
    transport: control.factory,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 },
  });
  clients.push(client);
  await client.admin.createTopic('t');
  const producer = client.producer({ topic: 't', lingerMs: 0, retryBackoffMs: 10, ...options });
  // Partition count and producer id known: every later turn's sends are one batch of their own.
  await producer.send({ value: 'first' });
  return { harness, control, client, producer };
}

interface Sends {
  readonly values: string[];
  readonly outcomes: Promise<RecordMetadata | unknown>[];
  /** Indexes of the sends in the order their promises settled. */
  readonly settledOrder: number[];
}

/** `batches` event-loop turns of `perBatch` sends each: one batch per turn while there is room in flight. */
async function sendInTurns(producer: Producer, batches: number, perBatch: number): Promise<Sends> {
  const sends: Sends = { values: [], outcomes: [], settledOrder: [] };
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < perBatch; i++) {
      const index = sends.values.length;
      const value = `b${b}-${i}`;
      sends.values.push(value);
      const outcome = producer.send({ value });
      sends.outcomes.push(outcome.catch((error: unknown) => error));
      const settled = () => {
        sends.settledOrder.push(index);
      };
      outcome.then(settled, settled);
    }
    await new Promise((r) => setImmediate(r));
  }
  return sends;
}

async function stored(client: TributaryClient): Promise<string[]> {
  const records = await client.admin.fetch('t', 0, 0, { maxRecords: 1_000 });
  return records.map((r) => text(r.value)!);
}

const inOrder = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('client SDK producer: several batches of a partition in flight', () => {
  it('sends the next batches before the first is acknowledged; answers out of order settle in send order', async () => {
    const { client, control, producer } = await setup();
    control.hold = true;
    const sends = await sendInTurns(producer, 7, 10);
    await eventually(() => control.held === 5);
    // Five in flight (the limit); the last two turns' records wait, as one batch, for room.
    expect(control.maxOutstanding).toBe(5);
    control.release([4, 2, 3, 0, 1]);
    const metadata = (await Promise.all(sends.outcomes)) as RecordMetadata[];
    expect(metadata.map((m) => m.offset)).toEqual(inOrder(70).map((i) => i + 1));
    expect(sends.settledOrder).toEqual(inOrder(70));
    expect(await stored(client)).toEqual(['first', ...sends.values]);
    // 1 + 5 + 1: the records of turns 6 and 7 went out together once a batch was settled.
    expect(control.sent.filter((t) => t === 'appendBatch')).toHaveLength(7);
  });

  it('maxInFlight 1 waits for each acknowledgement; more than 5 is refused', async () => {
    const { client, control, producer } = await setup({ maxInFlight: 1 });
    control.hold = true;
    const sends = await sendInTurns(producer, 3, 10);
    await eventually(() => control.held === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(control.held).toBe(1);
    control.release();
    await Promise.all(sends.outcomes);
    expect(control.maxOutstanding).toBe(1);
    expect(await stored(client)).toEqual(['first', ...sends.values]);
    expect(() => client.producer({ topic: 't', maxInFlight: 6 })).toThrow(/maxInFlight must be at most 5/);
  });

  it('a retriable failure the server never saw, with later batches in flight: retried in order, nothing lost or doubled', async () => {
    const { client, control, producer } = await setup();
    // The second of five batches never reaches the server: the three after it are refused there
    // (OUT_OF_ORDER_SEQUENCE, their sequence is ahead) and must be sent again behind it.
    control.inject.set(control.appends + 1, {
      forward: false,
      error: new TributaryError('STORAGE_ERROR', { reason: 'injected' }),
    });
    control.hold = true;
    const sends = await sendInTurns(producer, 5, 10);
    await eventually(() => control.held === 5);
    control.release([3, 4, 1, 0, 2]);
    const metadata = (await Promise.all(sends.outcomes)) as RecordMetadata[];
    expect(control.serverErrors).toEqual([
      'OUT_OF_ORDER_SEQUENCE',
      'OUT_OF_ORDER_SEQUENCE',
      'OUT_OF_ORDER_SEQUENCE',
    ]);
    expect(metadata.map((m) => m.offset)).toEqual(inOrder(50).map((i) => i + 1));
    expect(sends.settledOrder).toEqual(inOrder(50));
    expect(await stored(client)).toEqual(['first', ...sends.values]);
    expect(control.sent.filter((t) => t === 'initProducer')).toHaveLength(1);
  });

  it('a batch stored but answered with a retriable error, with later batches stored too: sent again, answered as duplicates', async () => {
    const { client, control, producer } = await setup();
    control.inject.set(control.appends + 1, {
      forward: true,
      error: new TributaryError('STORAGE_ERROR', { reason: 'injected' }),
    });
    control.hold = true;
    const sends = await sendInTurns(producer, 5, 10);
    await eventually(() => control.held === 5);
    control.release([4, 3, 2, 1, 0]);
    const metadata = (await Promise.all(sends.outcomes)) as RecordMetadata[];
    expect(metadata.map((m) => m.offset)).toEqual(inOrder(50).map((i) => i + 1));
    expect(sends.settledOrder).toEqual(inOrder(50));
    expect(await stored(client)).toEqual(['first', ...sends.values]);
    // 1 + 5, then the failed batch and the three after it once more.
    expect(control.sent.filter((t) => t === 'appendBatch')).toHaveLength(10);
  });

  it('a batch failing for good with later batches in flight: only its records fail, the later ones are stored under a new producer id', async () => {
    const { client, control, producer } = await setup();
    const refusal = new TributaryError('INVALID_ARGUMENT', { reason: 'injected refusal' });
    control.inject.set(control.appends + 1, { forward: false, error: refusal });
    control.hold = true;
    const sends = await sendInTurns(producer, 5, 10);
    await eventually(() => control.held === 5);
    control.release();
    const outcomes = await Promise.all(sends.outcomes);
    const failed = outcomes.flatMap((o, i) => (isTributaryError(o, 'INVALID_ARGUMENT') ? [i] : []));
    expect(failed).toEqual(inOrder(10).map((i) => i + 10));
    expect(sends.settledOrder).toEqual(inOrder(50));
    const kept = sends.values.filter((_, i) => !failed.includes(i));
    expect(await stored(client)).toEqual(['first', ...kept]);
    expect(control.serverErrors).toHaveLength(3);
    expect(control.sent.filter((t) => t === 'initProducer')).toHaveLength(2);
  });

  it('a connection cut with five batches in flight: sent again after the reconnect, stored once, in order', async () => {
    const { client, control, producer } = await setup();
    control.hold = true;
    const sends = await sendInTurns(producer, 6, 10);
    await eventually(() => control.held === 5);
    control.drop();
    const metadata = (await Promise.all(sends.outcomes)) as RecordMetadata[];
    expect(metadata.map((m) => m.offset)).toEqual(inOrder(60).map((i) => i + 1));
    expect(sends.settledOrder).toEqual(inOrder(60));
    expect(await stored(client)).toEqual(['first', ...sends.values]);
    expect(control.maxOutstanding).toBe(5);
  });
});
