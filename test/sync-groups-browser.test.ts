/**
 * A sync-group member in Chromium (the browser SDK bundle, the browser's own WebSocket) in one
 * group with two Node members: every step's result is the same bits on all three.
 *
 * Needs /usr/bin/chromium; without it the test is skipped, unless TRIBUTARY_REQUIRE_SERVICES=1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { type RunningServer, startServer } from '../src/server/server.js';
import {
  CHROMIUM,
  type ClientPageServer,
  describeWithoutChromium,
  hasChromium,
  launchChromium,
  serveClientPage,
} from './fixtures/chromium.js';

describeWithoutChromium(
  'sync-group member in Chromium',
  `skipped: ${CHROMIUM} is absent (apt-get install -y chromium; CI sets TRIBUTARY_REQUIRE_SERVICES=1)`,
);

describe.runIf(hasChromium)('sync-group member in Chromium', () => {
  let server: RunningServer;
  let dir: string;
  let pages: ClientPageServer | undefined;
  let pagesUrl: string;
  let browser: Browser;
  const nodes: TributaryClient[] = [];

  beforeAll(async () => {
    pages = await serveClientPage();
    pagesUrl = pages.url;
    dir = await mkdtemp(join(tmpdir(), 'tributary-sync-browser-'));
    server = await startServer({
      dataDir: dir,
      host: '127.0.0.1',
      port: 0,
      metrics: new ServerMetrics({ defaultMetrics: false }),
      closeGraceMs: 500,
      allowedOrigins: [new URL(pagesUrl).origin],
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    for (const c of nodes) await c.close();
    await browser?.close();
    await pages?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a browser replica and two Node replicas get the same bits every step', {
    timeout: 90_000,
  }, async () => {
    const url = `ws://127.0.0.1:${server.port}/v1/ws`;
    const page = await browser.newPage();
    await page.goto(pagesUrl);
    const STEPS = 20;
    const input = (step: number, who: number): number[] => [step * 0.1 + who / 3, 1e7 + who, -step / 7];
    const browserHashes = page.evaluate(
      async ({ target, steps }) => {
        const T = (globalThis as unknown as { Tributary: typeof import('../src/client/index.js') }).Tributary;
        const client = await T.connect({ url: target, reconnect: false });
        const member = await client.joinSyncGroup('mixed', { minMembers: 3 });
        const out: string[] = [];
        for (let step = 0; step < steps; step++) {
          const [sum] = await member.allReduce([Float32Array.of(step * 0.1 + 2 / 3, 1e7 + 2, -step / 7)]);
          out.push(Array.from(new Uint8Array(sum!.buffer, sum!.byteOffset, sum!.byteLength)).join(','));
        }
        await member.leave();
        await client.close();
        return out;
      },
      { target: url, steps: STEPS },
    );
    for (let i = 0; i < 2; i++) nodes.push(await connect({ url, reconnect: false }));
    const members = await Promise.all(nodes.map((c) => c.joinSyncGroup('mixed', { minMembers: 3 })));
    const nodeHashes: string[][] = [[], []];
    for (let step = 0; step < STEPS; step++) {
      const results = await Promise.all(
        members.map((m, who) => m.allReduce([Float32Array.from(input(step, who))])),
      );
      results.forEach(([sum], who) => {
        nodeHashes[who]!.push(
          Array.from(new Uint8Array(sum!.buffer, sum!.byteOffset, sum!.byteLength)).join(','),
        );
      });
    }
    const fromBrowser = await browserHashes;
    expect(fromBrowser).toEqual(nodeHashes[0]);
    expect(nodeHashes[1]).toEqual(nodeHashes[0]);
    expect(fromBrowser.length).toBe(STEPS);
    await page.close();
  });
});
