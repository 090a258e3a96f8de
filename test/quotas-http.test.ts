/**
 * Quotas on the HTTP API and SSE: produce answers over the principal's rate are delayed (never
 * refused) so curl's throughput converges to the rate with every record stored; an SSE stream's
 * events are paced to the fetch rate, every record once; SSE streams count as connections (429
 * QUOTA_EXCEEDED past the quota, accepted again after one closes). The front end is mounted with
 * its quotas directly (requests count as `local` until they authenticate).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type TributaryBroker } from '../src/broker/broker.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import { parseQuotas, Quotas } from '../src/server/auth/quotas.js';
import { createHttpFrontEnd } from '../src/server/front/http/index.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { DEFAULT_SERVER_CONFIG, pickSettings, settingNamesOf } from '../src/server/settings.js';
import { EventStreamReader } from './http-helpers.js';
import { waitFor } from './kafka-harness.js';

const RATE = 100_000;
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

async function start(
  entry: Record<string, number>,
): Promise<{ base: string; broker: TributaryBroker; quotas: Quotas }> {
  const broker = await createBroker(createMemoryLog());
  const quotas = new Quotas(parseQuotas({ local: entry }, 'quotas'));
  const http = createHttpFrontEnd(broker, {
    logger: pino({ level: 'silent' }),
    metrics: new ServerMetrics({ defaultMetrics: false }),
    limits: pickSettings(DEFAULT_SERVER_CONFIG, settingNamesOf('http')),
    quotas,
  });
  const server: Server = createServer((req, res) => http.handle(req, res));
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
  closers.push(async () => {
    http.closeStreams();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await broker.close();
  });
  return { base: `http://127.0.0.1:${port}`, broker, quotas };
}

/** curl, for real: status and body. */
function curl(args: readonly string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', ...args]);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', () => {
      const cut = out.lastIndexOf('\n');
      resolve({ status: Number(out.slice(cut + 1)), body: out.slice(0, cut) });
    });
  });
}

describe('HTTP quotas', () => {
  it('delays produce answers over the rate, so curl converges to it, and stores every record', async () => {
    const { base, broker } = await start({ produceBytesPerSec: RATE });
    await broker.createTopic('t', { partitions: 1 });
    const body = JSON.stringify({ records: [{ value: 'p'.repeat(20_000) }] });
    const started = Date.now();
    let acked = 0;
    let slowest = 0;
    while (Date.now() - started < 3_000) {
      const sent = Date.now();
      const answer = await curl(['--json', body, `${base}/v1/topics/t/records`]);
      expect(answer.status).toBe(200);
      slowest = Math.max(slowest, Date.now() - sent);
      acked++;
    }
    const seconds = (Date.now() - started) / 1000;
    const ratio = (acked * 20_000) / (RATE * seconds + RATE);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(1.5);
    // Some answer waited for the debt: 20 kB at 100 kB/s is 200 ms.
    expect(slowest).toBeGreaterThan(100);
    expect((await broker.offsets('t', 0)).next).toBe(acked);
  }, 30_000);

  it("paces an SSE stream's events to the fetch rate, every record once and in order", async () => {
    const { base, broker } = await start({ fetchBytesPerSec: RATE });
    await broker.createTopic('t', { partitions: 1 });
    const total = 60;
    await broker.appendBatch(
      't',
      0,
      Array.from({ length: total }, (_, i) => ({
        key: null,
        value: new TextEncoder().encode(`${i}`.padEnd(5_000, '.')),
      })),
    );
    const reader = await EventStreamReader.open(`${base}/v1/topics/t/events?from=earliest`);
    closers.push(async () => reader.close());
    const afterBurst = RATE / 5_000;
    await reader.records(afterBurst, 15_000);
    const burstAt = Date.now();
    const records = await reader.records(total, 20_000);
    const seconds = (Date.now() - burstAt) / 1000;
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: total }, (_, i) => i));
    const rate = ((total - afterBurst) * 5_000) / seconds;
    expect(rate / RATE).toBeGreaterThan(0.5);
    expect(rate / RATE).toBeLessThan(1.5);
  }, 40_000);

  it('counts SSE streams as connections: 429 QUOTA_EXCEEDED past the quota, accepted after one closes', async () => {
    const { base, broker, quotas } = await start({ connections: 1 });
    await broker.createTopic('t', { partitions: 1 });
    const first = await EventStreamReader.open(`${base}/v1/topics/t/events`);
    await first.until(() => first.named('ready').length === 1, 5_000, 'ready');
    const refused = await curl([`${base}/v1/topics/t/events`]);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'QUOTA_EXCEEDED' } });
    // Plain requests are not connections: they still pass.
    expect((await curl([`${base}/v1/topics`])).status).toBe(200);
    first.close();
    await waitFor(() => quotas.connections('local') === 0, 5_000, 'the stream to be released');
    const again = await EventStreamReader.open(`${base}/v1/topics/t/events`);
    closers.push(async () => again.close());
    expect(again.status).toBe(200);
    await again.until(() => again.named('ready').length === 1, 5_000, 'ready');
  });
});
