/**
 * A client that reads the topic it appends to (the Socket.IO adapter: every server consumes the
 * broadcast topic it writes) gets each append's acknowledgement and the delivery of the appended
 * record in one write of the server's socket, not two: the log wakes its readers before it
 * settles the append, and the delivery to a connection with a request in flight waits for the
 * response until the end of the turn (`src/server/front/ws/socket-writer.ts`). The SDK on a
 * real server over the file log; the server side's socket writes are counted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import { type Harness, startHarness } from '../src/server/front/ws/testing/harness.js';
import { countSocketWrites } from '../src/server/front/ws/testing/socket-writes.js';

let harness: Harness | undefined;
let client: TributaryClient | undefined;
let dir: string | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  await harness?.close();
  harness = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

it('sends an append acknowledgement and the delivery of its record to the appending connection in one write', async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-append-writes-'));
  harness = await startHarness({ dataDir: dir });
  const sockets: Socket[] = [];
  harness.server.on('connection', (socket: Socket) => sockets.push(socket));
  client = await connect({ url: harness.url });
  await client.admin.createTopic('echo', { partitions: 1 });
  const consumer = client.consumer({ topic: 'echo', from: 'latest' });
  let received = 0;
  let onRecord: (() => void) | undefined;
  consumer.on('records', (records) => {
    received += records.length;
    onRecord?.();
  });
  await consumer.ready;
  const producer = client.producer({ topic: 'echo', lingerMs: 0 });
  await producer.send({ key: 'k', value: 'warm-up' });
  while (received < 1) await new Promise<void>((resolve) => (onRecord = resolve));
  expect(sockets.length).toBe(1);
  const writes = countSocketWrites(sockets);
  const appends = 20;
  for (let i = 0; i < appends; i++) {
    const delivered = new Promise<void>((resolve) => (onRecord = resolve));
    await Promise.all([producer.send({ key: 'k', value: `record ${i}` }), delivered]);
  }
  expect(received).toBe(1 + appends);
  // One write per append: acknowledgement and delivery together (two each, before).
  expect(writes()).toBe(appends);
});
