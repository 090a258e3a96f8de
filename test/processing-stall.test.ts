/**
 * The stall watchdog of pipelines (processing/stall.ts) on a real server. A committed-isolation
 * group consumer idle at the end of a topic written by atomic commits has consumed everything,
 * yet its position (after the last record) is the last commit marker's offset, one below the
 * last stable offset: comparing the two called it stalled, and the collection sink's consumer
 * was restarted every few seconds while idle. The watchdog now asks for a committed record at
 * the position. The subscription itself wakes when a commit is decided; a consumer that really
 * has unread records is still reported; and a pipeline left idle records no stall.
 */

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ConsumerRecord } from '../src/client/index.js';
import { groupOf, registerPipelineRunMetrics, runPipeline } from '../src/processing/index.js';
import { behindPartition } from '../src/processing/stall.js';
import { generateSales, produceSales, salesPipeline, waitCaughtUp } from './fixtures/processing-sales.js';
import { serverFixture } from './server-fixture.js';

const fixture = serverFixture('tributary-processing-stall-');

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('stall watchdog', () => {
  it('an idle committed consumer at a commit marker is not behind; a commit decided later wakes it', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    await client.admin.createTopic('atomic', { partitions: 1 });
    for (let i = 0; i < 3; i++) {
      await client.commitAtomically({
        appends: [{ topic: 'atomic', partition: 0, records: [{ value: `a${i}` }, { value: `b${i}` }] }],
      });
    }
    const consumer = client.groupConsumer({
      groupId: 'idle',
      topics: ['atomic'],
      autoCommit: false,
      isolation: 'committed',
    });
    fixture.cleanup(() => consumer.close());
    const seen: ConsumerRecord[] = [];
    consumer.on('records', (records) => {
      seen.push(...records);
    });
    await until('six records consumed', () => seen.length === 6);
    const marks = await client.admin.offsets('atomic', 0);
    // Everything consumed, and the position is the last marker's offset: below the LSO.
    expect(consumer.position('atomic', 0)).toBe(seen.at(-1)!.offset + 1);
    expect(marks.lastStable).toBe(consumer.position('atomic', 0)! + 1);
    expect(await behindPartition(client, consumer)).toBeUndefined();

    // Waiting at the LSO, the subscription wakes when the next commit is decided.
    await client.commitAtomically({
      appends: [{ topic: 'atomic', partition: 0, records: [{ value: 'late' }] }],
    });
    await until('the next commit delivered', () => seen.length === 7, 10_000);
    expect(new TextDecoder().decode(seen.at(-1)!.value!)).toBe('late');
    expect(await behindPartition(client, consumer)).toBeUndefined();
  }, 60_000);

  it('reports a consumer that has committed records it did not consume', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    await client.admin.createTopic('unread', { partitions: 1 });
    // The group's committed offset is 0, the record is at 0.
    await client.commitAtomically({
      appends: [{ topic: 'unread', partition: 0, records: [{ value: 'x' }] }],
      offsets: { groupId: 'unread', offsets: [{ topic: 'unread', partition: 0, offset: 0 }] },
    });
    // No records listener: the record waits in the consumer, unconsumed.
    const consumer = client.groupConsumer({
      groupId: 'unread',
      topics: ['unread'],
      autoCommit: false,
      isolation: 'committed',
    });
    fixture.cleanup(() => consumer.close());
    await consumer.ready;
    expect(consumer.position('unread', 0)).toBe(0);
    expect(await behindPartition(client, consumer)).toMatch(/^unread\/0 at 0, committed record at 0/);
  }, 60_000);

  it('a pipeline left idle after its input records no stall', async () => {
    const server = await fixture.server();
    const client = await fixture.client(server);
    const sales = generateSales(3, 300);
    await produceSales(client, sales);
    const run = await runPipeline(client, salesPipeline('idle', 'idle'), { batchRecordsMax: 50 });
    const stalls: unknown[] = [];
    run.on('error', (error) => stalls.push(error));
    await waitCaughtUp(client, groupOf('idle'));
    // The watchdogs look every second once nothing was consumed for 3 s (results) and 5 s (source).
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    expect(stalls.map(String)).toEqual([]);
    expect(run.status().stalls).toBe(0);
    // The worker's own metrics say the same.
    const registry = new Registry();
    registerPipelineRunMetrics(registry, run);
    const text = await registry.metrics();
    expect(text).toContain('tributary_pipeline_worker_stalls{pipeline="idle"} 0');
    expect(text).toContain(`tributary_pipeline_worker_commits{pipeline="idle"} ${run.status().commits}`);
    expect(run.status().commits).toBeGreaterThan(0);
    await run.stop();
  }, 60_000);
});
