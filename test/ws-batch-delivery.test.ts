/**
 * The `batchDelivery` feature of the WebSocket front end, negotiated in `hello`: a client that
 * asks for it gets history as stored batches (and `welcome.features` says so), a client that
 * does not (an older one), or one speaking JSON, gets `delivery` frames of records only; all of
 * them receive the same records. Raw protocol clients on a real server over the file log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WireFormat, WireRecord } from '../src/protocol/native/types.js';
import { decodeWire } from '../src/protocol/native/wire.js';
import { type Harness, RawClient, startHarness } from '../src/server/front/ws/testing/harness.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const BATCHES = 12;
const PER_BATCH = 50;
const TOTAL = BATCHES * PER_BATCH;

let harness: Harness | undefined;
let dir: string | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await harness?.close();
  harness = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

interface Reader {
  readonly client: RawClient;
  readonly welcome: Record<string, unknown>;
  /** The `type` of every frame as it came over the wire, before the SDK's decoder. */
  readonly wireTypes: string[];
}

async function reader(h: Harness, hello: Record<string, unknown>, format: WireFormat): Promise<Reader> {
  const client = new RawClient(h.url);
  clients.push(client);
  const wireTypes: string[] = [];
  client.socket.on('message', (data, isBinary) => {
    const raw = data as Buffer;
    const { value } = decodeWire(isBinary ? new Uint8Array(raw) : raw.toString('utf8'));
    wireTypes.push(String((value as { type: unknown }).type));
  });
  await client.opened;
  client.send({ type: 'hello', protocol: 1, client: 'batch-test/1', ...hello } as never, format);
  const welcome = await client.next((f) => f.type === 'welcome');
  return { client, welcome: welcome as unknown as Record<string, unknown>, wireTypes };
}

async function replayAll(r: Reader, format: WireFormat): Promise<WireRecord[]> {
  const response = await r.client.request(
    { type: 'subscribe', topic: 'history', partition: 0, from: 'earliest', credit: 2000 },
    format,
  );
  if (!('ok' in response)) throw new Error(JSON.stringify(response.error));
  const { sub } = response.ok as { sub: number };
  const records: WireRecord[] = [];
  while (records.length < TOTAL) {
    const frame = await r.client.next((f) => f.type === 'delivery' && f.sub === sub);
    if (frame.type === 'delivery') records.push(...frame.records);
  }
  return records;
}

describe('WebSocket front end: batchDelivery', () => {
  it('sends stored batches only to clients that asked, and the same records to every client', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-ws-batches-'));
    harness = await startHarness({ dataDir: dir });
    await harness.broker.createTopic('history', { fsync: 'never' });
    for (let b = 0; b < BATCHES; b++) {
      await harness.broker.appendBatch(
        'history',
        0,
        Array.from({ length: PER_BATCH }, (_, i) => ({
          key: null,
          value: enc.encode(`v${b * PER_BATCH + i}`),
        })),
      );
    }
    const values = (records: readonly WireRecord[]) =>
      records.map((r) => `${r.offset}:${dec.decode(r.value!)}`);
    const wanted = Array.from({ length: TOTAL }, (_, i) => `${i}:v${i}`);

    // First: a reader at the same offset later may be handed the records a record read shared.
    const newer = await reader(harness, { features: ['batchDelivery', 'someFutureFeature'] }, 'msgpack');
    expect(newer.welcome.features).toEqual(['batchDelivery']);
    expect(values(await replayAll(newer, 'msgpack'))).toEqual(wanted);
    expect(newer.wireTypes).toContain('batchDelivery');

    const older = await reader(harness, {}, 'msgpack');
    expect(older.welcome.features).toBeUndefined();
    expect(values(await replayAll(older, 'msgpack'))).toEqual(wanted);
    expect(older.wireTypes).toContain('delivery');
    expect(older.wireTypes).not.toContain('batchDelivery');

    // JSON has no use for batches of binary records: records only, whatever the hello asks.
    const json = await reader(harness, { features: ['batchDelivery'] }, 'json');
    expect(json.welcome.features).toBeUndefined();
    expect(values(await replayAll(json, 'json'))).toEqual(wanted);
    expect(json.wireTypes).not.toContain('batchDelivery');
  });
});
