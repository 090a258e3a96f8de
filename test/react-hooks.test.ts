/**
 * The React hooks (`src/react/`) in a real page: React and react-dom bundled with the hooks by
 * esbuild, rendered in Debian's Chromium (playwright-core), connected to a real Tributary server
 * over the browser's WebSocket, while a Node client writes. Each probe (`test/react/probes.tsx`)
 * reports every state it committed, so the tests check the hooks' state sequences: loading, the
 * snapshot, live changes, optimistic writes before the server's answer, rollbacks, bounded tails.
 * The leak checks count what the server holds: connections, topic subscriptions, live queries.
 * Server-side rendering runs in Node (react-dom/server) and is hydrated in the page.
 */

import type { Browser, Page } from 'playwright-core';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Collection, connect, type TributaryClient } from '../src/client/node/index.js';
import { CHROMIUM, describeWithoutChromium, hasChromium, launchChromium } from './fixtures/chromium.js';
import { type ReactTestServer, startReactTestServer } from './fixtures/react-server.js';
import { ProbeApp, type ProbeSpec, type Seen } from './react/probes.js';

type PageApi = typeof import('./react/page.js');

describeWithoutChromium(
  'React hooks in Chromium',
  `skipped: ${CHROMIUM} is absent (apt-get install -y chromium; CI sets TRIBUTARY_REQUIRE_SERVICES=1)`,
);

/** Polls `check` until it returns true or `timeoutMs` passes (then fails with `what`). */
async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.runIf(hasChromium)('React hooks in Chromium', () => {
  let server: ReactTestServer;
  let browser: Browser;
  let node: TributaryClient;
  let stock: Collection;

  beforeAll(async () => {
    server = await startReactTestServer();
    browser = await launchChromium();
    node = await connect({ url: server.wsUrl, clientName: 'react-test-node' });
    await node.admin.createCollection('stock', { mode: 'strong', partitions: 1 });
    stock = node.collection('stock');
    await stock.put('sku-1', { name: 'Widget', stock: 10 });
    await stock.put('sku-2', { name: 'Gadget', stock: 5 });
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await browser?.close();
    await server?.close();
  });

  /** A fresh page of the server, with page errors and console errors collected. */
  async function openPage(): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${String(error)}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    await page.goto(server.pageUrl);
    return { page, problems };
  }

  const mount = (page: Page, id: string, spec: ProbeSpec, strict = false) =>
    page.evaluate(
      // The spec goes as JSON: its type is too deep for playwright's argument types.
      ({ id, url, spec, strict }) =>
        (globalThis as unknown as { ReactPage: PageApi }).ReactPage.mount(id, url, JSON.parse(spec), strict),
      { id, url: server.wsUrl, spec: JSON.stringify(spec), strict },
    );
  const seen = (page: Page, id: string): Promise<Seen[]> =>
    page.evaluate((id) => (globalThis as unknown as { ReactPage: PageApi }).ReactPage.seen(id), id);
  const last = async (page: Page, id: string): Promise<Seen | undefined> => (await seen(page, id)).at(-1);
  /** Waits until the pages of earlier tests are gone from the server: only the Node client is left. */
  const onlyNodeClient = () =>
    eventually('only the Node client', async () => (await server.connections()) === 1);
  const mountGroup = (page: Page, id: string, specs: Record<string, ProbeSpec>) =>
    page.evaluate(
      ({ id, url, specs }) =>
        (globalThis as unknown as { ReactPage: PageApi }).ReactPage.mountProbes(id, url, JSON.parse(specs)),
      { id, url: server.wsUrl, specs: JSON.stringify(specs) },
    );
  const unmount = (page: Page, id: string) =>
    page.evaluate((id) => (globalThis as unknown as { ReactPage: PageApi }).ReactPage.unmount(id), id);

  it('useQuery: loading, then the snapshot, then what another client writes', async () => {
    const { page, problems } = await openPage();
    try {
      await mount(page, 'q', { kind: 'query', collection: 'stock', filter: { keyPrefix: 'sku-' } });
      await eventually('the snapshot', async () => (await last(page, 'q'))?.loading === false);
      const states = await seen(page, 'q');
      expect(states[0]).toMatchObject({ loading: true, items: [] });
      expect(states.at(-1)!.items).toEqual([
        ['sku-1', { name: 'Widget', stock: 10 }, false],
        ['sku-2', { name: 'Gadget', stock: 5 }, false],
      ]);
      expect(await page.locator('#q .status').textContent()).toBe('ready connected');

      await stock.patch('sku-2', { stock: 4 });
      await stock.put('sku-3', { name: 'Sprocket', stock: 1 });
      await stock.put('other', { name: 'not in the query' });
      await eventually('the changes', async () => (await last(page, 'q'))?.items.length === 3);
      expect((await last(page, 'q'))!.items).toEqual([
        ['sku-1', { name: 'Widget', stock: 10 }, false],
        ['sku-2', { name: 'Gadget', stock: 4 }, false],
        ['sku-3', { name: 'Sprocket', stock: 1 }, false],
      ]);
      await expect
        .poll(() => page.locator('#q li').allTextContents())
        .toContain(JSON.stringify(['sku-3', { name: 'Sprocket', stock: 1 }, false]));
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('useQuery: an own write shows (pending) before the server confirms it; a refused one is rolled back', async () => {
    const { page, problems } = await openPage();
    try {
      await stock.put('sku-9', { name: 'Gizmo', stock: 7 });
      await mount(page, 'w', { kind: 'query', collection: 'stock', filter: { keyPrefix: 'sku-9' } });
      await eventually('the snapshot', async () => (await last(page, 'w'))?.loading === false);

      // Accepted: the states committed before the write's promise resolved include the optimistic one.
      const accepted = await page.evaluate(async () => {
        const api = (globalThis as unknown as { ReactPage: PageApi }).ReactPage;
        const collection = api.handle<Collection>('w');
        const before = api.seen('w').length;
        await collection.increment('sku-9', 'stock', -2);
        return { before, confirmedAt: api.seen('w').length };
      });
      const beforeConfirm = (await seen(page, 'w')).slice(accepted.before, accepted.confirmedAt);
      expect(beforeConfirm).toContainEqual(
        expect.objectContaining({ pending: true, items: [['sku-9', { name: 'Gizmo', stock: 5 }, true]] }),
      );
      await eventually('the confirmed state', async () => {
        const state = await last(page, 'w');
        return state?.pending === false && JSON.stringify(state.items[0]).includes('"stock":5');
      });
      expect((await stock.get('sku-9')).value).toEqual({ name: 'Gizmo', stock: 5 });

      // Refused (a stale version): shown at once, then undone with the server's reason.
      const refused = await page.evaluate(async () => {
        const api = (globalThis as unknown as { ReactPage: PageApi }).ReactPage;
        const collection = api.handle<Collection>('w');
        const before = api.seen('w').length;
        const code = await collection.put('sku-9', { name: 'Gizmo', stock: 100 }, { ifVersion: 0 }).then(
          () => 'accepted',
          (error: { code: string }) => error.code,
        );
        return { before, code };
      });
      expect(refused.code).toBe('VERSION_MISMATCH');
      await eventually('the rollback', async () => (await last(page, 'w'))?.rollback === 'VERSION_MISMATCH');
      const afterWrite = (await seen(page, 'w')).slice(refused.before);
      const optimistic = afterWrite.findIndex((s) => JSON.stringify(s.items).includes('"stock":100'));
      const rolledBack = afterWrite.findIndex((s) => s.rollback === 'VERSION_MISMATCH');
      expect(optimistic).toBeGreaterThanOrEqual(0);
      expect(afterWrite[optimistic]!.pending).toBe(true);
      expect(rolledBack).toBeGreaterThan(optimistic);
      expect(afterWrite.at(-1)).toMatchObject({
        pending: false,
        rollback: 'VERSION_MISMATCH',
        items: [['sku-9', { name: 'Gizmo', stock: 5 }, false]],
      });
      expect((await stock.get('sku-9')).value).toEqual({ name: 'Gizmo', stock: 5 });
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
  it('useDocument follows one document: its changes, not its neighbours; gone when deleted', async () => {
    const { page, problems } = await openPage();
    try {
      await stock.put('doc-1', { n: 1 });
      await stock.put('doc-10', { n: 10 }); // shares the key prefix "doc-1"
      await mount(page, 'd', { kind: 'document', collection: 'stock', key: 'doc-1' });
      await eventually('the document', async () => (await last(page, 'd'))?.loading === false);
      expect((await last(page, 'd'))!.items).toEqual([['doc-1', { n: 1 }, false]]);

      await stock.patch('doc-10', { n: 11 });
      await stock.patch('doc-1', { n: 2 });
      await eventually('the change', async () =>
        JSON.stringify((await last(page, 'd'))?.items).includes('"n":2'),
      );
      await stock.delete('doc-1');
      await eventually('the delete', async () => (await last(page, 'd'))?.items.length === 0);
      const states = await seen(page, 'd');
      // Never anything but doc-1.
      for (const state of states)
        for (const item of state.items) expect((item as unknown[])[0]).toBe('doc-1');
      expect(states.map((s) => JSON.stringify(s.items))).toContain(
        JSON.stringify([['doc-1', { n: 2 }, false]]),
      );
      expect(states.at(-1)).toMatchObject({ loading: false, error: undefined, items: [] });
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('useTopic keeps at most `max` records, the newest, in order', async () => {
    await node.admin.createTopic('ticks', { partitions: 1 });
    const producer = node.producer({ topic: 'ticks' });
    for (let i = 0; i < 3; i++) await producer.send({ value: `early-${i}` });
    const { page, problems } = await openPage();
    try {
      await mount(page, 't', { kind: 'topic', topic: 'ticks', options: { max: 5, from: 'earliest' } });
      await eventually('the first records', async () => (await last(page, 't'))?.items.length === 3);
      for (let i = 0; i < 12; i++) await producer.send({ value: `tick-${i}` });
      await eventually('the last record', async () =>
        JSON.stringify((await last(page, 't'))?.items).includes('tick-11'),
      );
      const states = await seen(page, 't');
      expect(states[0]).toMatchObject({ loading: true, items: [] });
      expect(Math.max(...states.map((s) => s.items.length))).toBe(5);
      expect(states.at(-1)!.items).toEqual([
        [10, 'tick-7'],
        [11, 'tick-8'],
        [12, 'tick-9'],
        [13, 'tick-10'],
        [14, 'tick-11'],
      ]);
      // From 'latest' (the default): only what arrives after mount.
      await mount(page, 'latest', { kind: 'topic', topic: 'ticks', options: { max: 5 } });
      await eventually('the tail to be live', async () => (await last(page, 'latest'))?.loading === false);
      await producer.send({ value: 'after-mount' });
      await eventually('the new record', async () => (await last(page, 'latest'))?.items.length === 1);
      expect((await last(page, 'latest'))!.items).toEqual([[15, 'after-mount']]);
      expect(problems).toEqual([]);
    } finally {
      await producer.close();
      await page.close();
    }
  });

  it('unmounting a hook closes its subscription on the server; unmounting the provider its connection', async () => {
    await node.admin.createTopic('leaks', { partitions: 3 });
    const { page, problems } = await openPage();
    const dropProbe = (name: string) =>
      page.evaluate(
        (name) => (globalThis as unknown as { ReactPage: PageApi }).ReactPage.dropProbe('group', name),
        name,
      );
    try {
      await onlyNodeClient();
      const baseline = 1; // the Node client's
      const specs: Record<string, ProbeSpec> = {
        a: { kind: 'query', collection: 'stock', filter: { keyPrefix: 'sku-' } },
        b: { kind: 'document', collection: 'stock', key: 'sku-1' },
        c: { kind: 'topic', topic: 'leaks' },
        d: { kind: 'query', collection: 'stock' },
      };
      // StrictMode mounts, unmounts and mounts again: nothing may be left from the first mount.
      await page.evaluate(
        ({ url, specs }) =>
          (globalThis as unknown as { ReactPage: PageApi }).ReactPage.mountProbes(
            'group',
            url,
            JSON.parse(specs),
            true,
          ),
        { url: server.wsUrl, specs: JSON.stringify(specs) },
      );
      for (const name of Object.keys(specs)) {
        await eventually(`${name} ready`, async () => (await last(page, name))?.loading === false);
      }
      // One provider, one client (StrictMode's first, closed while connecting, may take a moment to go).
      await eventually('one connection', async () => (await server.connections()) === baseline + 1);
      expect(server.liveQueries('stock')).toBe(3);
      expect(server.topicSubscriptions()).toBe(3); // one per partition

      await dropProbe('a');
      await eventually('2 live queries', () => server.liveQueries('stock') === 2);
      await dropProbe('c');
      await eventually('no topic subscription', () => server.topicSubscriptions() === 0);
      await dropProbe('b');
      await dropProbe('d');
      await eventually('no live query', () => server.liveQueries('stock') === 0);
      expect(await server.connections()).toBe(baseline + 1); // the provider's client stays

      await unmount(page, 'group');
      await eventually('no connection left', async () => (await server.connections()) === baseline);

      // A provider unmounted with its hooks still mounted: the client's close ends them all.
      await mount(page, 'solo', { kind: 'query', collection: 'stock' });
      await eventually('solo ready', async () => (await last(page, 'solo'))?.loading === false);
      expect(server.liveQueries('stock')).toBe(1);
      await unmount(page, 'solo');
      await eventually('nothing left', async () => (await server.connections()) === baseline);
      expect(server.liveQueries('stock')).toBe(0);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('ends in typed errors, not exceptions: an unknown collection, a bad filter, an unknown topic, a bad max', async () => {
    const { page, problems } = await openPage();
    try {
      const specs: Record<string, ProbeSpec> = {
        missing: { kind: 'query', collection: 'no-such-collection' },
        badFilter: {
          kind: 'query',
          collection: 'stock',
          filter: { where: [{ field: 'stock', op: '~' as '==', value: 1 }] },
        },
        missingTopic: { kind: 'topic', topic: 'no-such-topic' },
        badMax: { kind: 'topic', topic: 'ticks', options: { max: 0 } },
      };
      await mountGroup(page, 'errors', specs);
      const expected: Record<string, string> = {
        missing: 'COLLECTION_NOT_FOUND',
        badFilter: 'INVALID_ARGUMENT',
        missingTopic: 'TOPIC_NOT_FOUND',
        badMax: 'INVALID_ARGUMENT',
      };
      for (const [name, code] of Object.entries(expected)) {
        await eventually(`${name}: ${code}`, async () => (await last(page, name))?.error === code);
        expect(await last(page, name)).toMatchObject({ loading: false, items: [] });
      }
      // The other hooks of the same provider are unaffected.
      await mountGroup(page, 'fine', { fine: { kind: 'document', collection: 'stock', key: 'sku-1' } });
      await eventually('a working hook', async () => (await last(page, 'fine'))?.items.length === 1);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a new filter closes the old live query and opens the new one', async () => {
    const { page, problems } = await openPage();
    try {
      await mountGroup(page, 'filters', {
        f: { kind: 'query', collection: 'stock', filter: { keyPrefix: 'sku-1' } },
      });
      await eventually('sku-1', async () => (await last(page, 'f'))?.loading === false);
      expect((await last(page, 'f'))!.items.map((item) => (item as unknown[])[0])).toEqual(['sku-1']);
      expect(server.liveQueries('stock')).toBe(1);
      await page.evaluate(
        (spec) =>
          (globalThis as unknown as { ReactPage: PageApi }).ReactPage.replaceProbe(
            'filters',
            'f',
            JSON.parse(spec),
          ),
        JSON.stringify({ kind: 'query', collection: 'stock', filter: { keyPrefix: 'sku-2' } }),
      );
      await eventually(
        'sku-2',
        async () =>
          JSON.stringify((await last(page, 'f'))?.items.map((item) => (item as unknown[])[0])) ===
          '["sku-2"]',
      );
      await eventually('one live query', () => server.liveQueries('stock') === 1);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('after a dropped connection: reconnecting, then the live query resumes without a gap', async () => {
    const { page, problems } = await openPage();
    try {
      await mount(page, 'r', { kind: 'query', collection: 'stock', filter: { keyPrefix: 'sku-2' } });
      await eventually('ready', async () => (await last(page, 'r'))?.connection === 'connected');
      await eventually('the snapshot', async () => (await last(page, 'r'))?.loading === false);
      server.dropConnections();
      await eventually('reconnecting', async () =>
        (await seen(page, 'r')).some((s) => s.connection === 'reconnecting'),
      );
      await eventually('connected again', async () => (await last(page, 'r'))?.connection === 'connected');
      // The Node client reconnects by itself too; a write made now reaches the page's resumed query.
      await stock.patch('sku-2', { stock: 42 });
      await eventually('the write after the reconnect', async () =>
        JSON.stringify((await last(page, 'r'))?.items).includes('"stock":42'),
      );
      expect((await last(page, 'r'))!.items).toHaveLength(1);
      expect(problems.filter((p) => !p.includes('WebSocket'))).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('renders on the server without connecting, and hydrates without a mismatch', async () => {
    let dials = 0;
    const spec: ProbeSpec = { kind: 'query', collection: 'stock', filter: { keyPrefix: 'sku-1' } };
    const html = renderToString(
      createElement(ProbeApp, {
        connect: {
          url: server.wsUrl,
          transport: () => {
            dials++;
            throw new Error('no connection may be opened while rendering on the server');
          },
        },
        spec,
        report: () => undefined,
      }),
    );
    expect(dials).toBe(0);
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    expect(html).toContain('loading idle');
    expect(html).not.toContain('sku-1');

    await onlyNodeClient();
    const connectionsBefore = 1; // the Node client's
    server.setBody(`<div id="ssr">${html}</div>`);
    const { page, problems } = await openPage();
    try {
      expect(await page.locator('#ssr .status').textContent()).toBe('loading idle');
      await page.evaluate(
        ({ url, spec }) =>
          (globalThis as unknown as { ReactPage: PageApi }).ReactPage.hydrate('ssr', url, JSON.parse(spec)),
        { url: server.wsUrl, spec: JSON.stringify(spec) },
      );
      await eventually('live data after hydration', async () => (await last(page, 'ssr'))?.loading === false);
      expect((await last(page, 'ssr'))!.items).toEqual([['sku-1', { name: 'Widget', stock: 10 }, false]]);
      expect((await seen(page, 'ssr'))[0]).toMatchObject({ loading: true, items: [] });
      await expect.poll(() => page.locator('#ssr .status').textContent()).toBe('ready connected');
      expect(
        await page.evaluate(
          () => (globalThis as unknown as { ReactPage: PageApi }).ReactPage.recoverableErrors,
        ),
      ).toEqual([]);
      expect(problems).toEqual([]);
      await eventually(
        'the page connected once',
        async () => (await server.connections()) === connectionsBefore + 1,
      );
    } finally {
      server.setBody('<div id="root"></div>');
      await page.close();
    }
  });
});
