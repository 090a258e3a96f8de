/**
 * `npm run example:react-inventory` as a reader would use it: the example runs as a child process
 * (its Tributary server and Vite's dev server), the storefront it prints is opened in two tabs of
 * Debian's Chromium, a purchase in one tab shows in the other, a race for the last unit is
 * refused in the tab whose order arrived second (its frames held back by the test) and undone
 * there, and SIGTERM stops the example cleanly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM, describeWithoutChromium, hasChromium, launchChromium } from './fixtures/chromium.js';

const ROOT = resolve(import.meta.dirname, '..');

describeWithoutChromium(
  'example react-inventory',
  `skipped: ${CHROMIUM} is absent (apt-get install -y chromium; CI sets TRIBUTARY_REQUIRE_SERVICES=1)`,
);

describe.runIf(hasChromium)('example react-inventory', () => {
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  let proxy: Server | undefined;

  afterAll(async () => {
    await browser?.close();
    proxy?.close();
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('two tabs: a purchase in one shows in the other; the last unit goes to one tab only', {
    timeout: 120_000,
  }, async () => {
    const example = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), 'examples/react-inventory/main.ts', '--for-ms', '90000'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = example;
    const lines: string[] = [];
    let stderr = '';
    example.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((done) => example.on('exit', (code) => done(code)));
    const storefront = await new Promise<string>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`no storefront address; output: ${lines.join('\n')}`)),
        60_000,
      );
      createInterface({ input: example.stdout! }).on('line', (line) => {
        lines.push(line);
        if (line.startsWith('storefront: ')) {
          clearTimeout(timer);
          done(line.slice('storefront: '.length));
        }
      });
    });

    browser = await launchChromium();
    const context = await browser.newContext();
    const problems: string[] = [];
    // The south tab reaches the server through a TCP proxy that can hold what the tab sends (a
    // slow network, on purpose): the race below is decided by the test, not by timing.
    let holdSouth = false;
    const held: Buffer[] = [];
    const upstreams = new Set<Socket>();
    const serverUrl = new URL(new URL(storefront).searchParams.get('server')!);
    proxy = createServer((tab) => {
      const upstream = connectTcp(Number(serverUrl.port), serverUrl.hostname);
      upstreams.add(upstream);
      tab.on('data', (chunk: Buffer) => {
        if (holdSouth) held.push(chunk);
        else upstream.write(chunk);
      });
      upstream.pipe(tab);
      const end = () => {
        upstreams.delete(upstream);
        tab.destroy();
        upstream.destroy();
      };
      tab.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((done) => proxy!.listen(0, '127.0.0.1', done));
    const viaProxy = new URL(storefront);
    viaProxy.searchParams.set('server', `ws://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1/ws`);
    const releaseSouth = () => {
      holdSouth = false;
      for (const upstream of upstreams) for (const chunk of held) upstream.write(chunk);
      held.length = 0;
    };
    const open = async (name: 'north' | 'south'): Promise<Page> => {
      const page = await context.newPage();
      page.on('pageerror', (error) => problems.push(String(error)));
      await page.goto(name === 'south' ? viaProxy.href : storefront);
      return page;
    };
    const [north, south] = [await open('north'), await open('south')];
    const stock = (page: Page, sku: string) => page.locator(`tr[data-sku="${sku}"] .stock`);
    for (const page of [north, south]) {
      await expect.poll(() => stock(page, 'sku-1').textContent(), { timeout: 60_000 }).toBe('5');
      await expect.poll(() => page.locator('.connection').textContent()).toBe('connected');
    }

    // A purchase in one tab: its own tab and the other one follow.
    await north.getByRole('button', { name: 'Buy one Widget' }).click();
    await expect.poll(() => stock(south, 'sku-1').textContent(), { timeout: 15_000 }).toBe('4');
    await expect.poll(() => north.locator('.message').textContent()).toBe('Ordered one Widget.');
    await expect.poll(() => stock(north, 'sku-1').textContent()).toBe('4');
    await south.getByRole('button', { name: 'Buy one Widget' }).click();
    await expect.poll(() => stock(north, 'sku-1').textContent(), { timeout: 15_000 }).toBe('3');

    // One Sprocket left, both tabs buy it. South's order is slow to leave (held): south shows it
    // at once, north's order reaches the server first and wins, south's is refused and undone.
    holdSouth = true;
    await south.getByRole('button', { name: 'Buy one Sprocket' }).click();
    await expect.poll(() => stock(south, 'sku-3').textContent()).toBe('0');
    expect(await south.locator('tr[data-sku="sku-3"]').getAttribute('class')).toBe('pending');
    await north.getByRole('button', { name: 'Buy one Sprocket' }).click();
    await expect
      .poll(() => north.locator('.message').textContent(), { timeout: 15_000 })
      .toBe('Ordered one Sprocket.');
    releaseSouth();
    const messages = async () => [
      await north.locator('.message').textContent(),
      await south.locator('.message').textContent(),
    ];
    await expect
      .poll(async () => (await messages()).sort(), { timeout: 15_000 })
      .toEqual(['Ordered one Sprocket.', 'Sprocket sold out before your order arrived.']);
    for (const page of [north, south]) {
      await expect.poll(() => stock(page, 'sku-3').textContent()).toBe('0');
    }
    expect(await south.locator('.message').textContent()).toBe(
      'Sprocket sold out before your order arrived.',
    );
    expect(await south.locator('.refused').textContent()).toContain('PRECONDITION_FAILED');
    expect(await south.locator('tr[data-sku="sku-3"]').getAttribute('class')).toBeNull();
    expect(problems).toEqual([]);

    example.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(lines.filter((line) => line.startsWith('order '))).toHaveLength(3);
    expect(lines.at(-1)).toBe('react-inventory: stopped; 3 orders, 3 units sold');
  });
});
