/**
 * The CDC example's page in Chromium: `examples/cdc/main.ts --short --wait-for-go` runs as a
 * reader would run it; the test opens the page it serves, sees the table's first rows (the
 * snapshot), lets the editor script change the table, and sees the changes arrive live (change
 * events on the one subscription, no reload) until the page shows exactly the table's rows.
 *
 * Needs /usr/bin/chromium, Postgres with wal_level=logical and Redis; without them the test is
 * skipped, unless TRIBUTARY_REQUIRE_SERVICES=1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { logicalPostgres } from './cdc-helpers.js';
import { CHROMIUM, describeWithoutChromium, hasChromium, launchChromium } from './fixtures/chromium.js';
import { describeWithService, PG_URL, REDIS_URL, redisAvailable } from './sinks-helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const available = hasChromium && (await logicalPostgres()) && (await redisAvailable());

describeWithoutChromium(
  'cdc example page in Chromium',
  `skipped: ${CHROMIUM} is absent (apt-get install -y chromium; CI sets TRIBUTARY_REQUIRE_SERVICES=1)`,
);

type Row = Record<string, unknown>;
interface PageState {
  readonly snapshots: number;
  readonly changes: number;
  readonly changeEvents: number;
  readonly error: string | null;
  readonly rows: Row[];
}

/** The example as a child process, its output lines collected. */
function startExample(): {
  child: ChildProcess;
  line: (prefix: string) => Promise<string>;
  output: string[];
} {
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), 'examples/cdc/main.ts', '--short', '--wait-for-go'],
    {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, TRIBUTARY_EXAMPLE_PG_URL: PG_URL, TRIBUTARY_EXAMPLE_REDIS_URL: REDIS_URL },
    },
  );
  const output: string[] = [];
  const waiters: { prefix: string; resolve: (rest: string) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    output.push(text);
    for (const waiter of waiters.filter((w) => text.startsWith(w.prefix))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(text.slice(waiter.prefix.length));
    }
  });
  const line = (prefix: string) =>
    new Promise<string>((resolveLine, reject) => {
      const seen = output.find((text) => text.startsWith(prefix));
      if (seen !== undefined) return resolveLine(seen.slice(prefix.length));
      waiters.push({ prefix, resolve: resolveLine });
      child.once('exit', (code) => reject(new Error(`the example exited (${code}) before "${prefix}"`)));
    });
  return { child, line, output };
}

async function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const cdc = (globalThis as unknown as { cdcPage?: { state: Omit<PageState, 'rows'>; rows(): Row[] } })
      .cdcPage;
    if (cdc === undefined) return { snapshots: 0, changes: 0, changeEvents: 0, error: null, rows: [] };
    return { ...cdc.state, rows: cdc.rows() };
  });
}

async function until(page: Page, what: string, check: (state: PageState) => boolean, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const state = await pageState(page);
    if (state.error !== null) throw new Error(`the page failed: ${state.error}`);
    if (check(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(state)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeWithService(
  'cdc example page in Chromium',
  available,
  `Chromium, Postgres with wal_level=logical at ${PG_URL} and Redis at ${REDIS_URL}`,
  () => {
    let browser: Browser;
    let example: ReturnType<typeof startExample> | undefined;

    beforeAll(async () => {
      browser = await launchChromium();
    }, 60_000);

    afterAll(async () => {
      if (example !== undefined && example.child.exitCode === null) example.child.kill('SIGKILL');
      await browser?.close();
    });

    it('the page shows the table, then every edit live, and ends equal to the table', {
      timeout: 150_000,
    }, async () => {
      example = startExample();
      const exited = new Promise<number | null>((r) => example!.child.once('exit', (code) => r(code)));
      const pageUrl = await example.line('page: ');
      const page = await browser.newPage();
      await page.goto(pageUrl);

      // The snapshot: the five rows the example starts with, before any edit.
      const first = await until(page, 'the first rows', (s) => s.rows.length === 5, 60_000);
      expect(first.rows.map((row) => row.id)).toEqual([1, 2, 3, 4, 5]);
      expect(first.rows[0]).toEqual({ id: 1, name: 'lamp 1', price_cents: 2400, stock: 7 });
      expect(first.changes).toBe(0);

      example.child.stdin!.write('go\n');
      const table = JSON.parse(await example.line('table: ')) as Row[];
      const last = await until(
        page,
        'the page to equal the table',
        (s) => JSON.stringify(s.rows) === JSON.stringify(table),
        60_000,
      );
      // Live: the edits came as change events on the one subscription, never as a new snapshot.
      expect(last.snapshots).toBe(1);
      expect(last.changeEvents).toBeGreaterThan(1);
      expect(last.changes).toBeGreaterThanOrEqual(last.changeEvents);
      expect(await page.locator('#status').textContent()).toMatch(new RegExp(`^${table.length} rows, `));
      await page.close();

      example.child.stdin!.write('stop\n');
      expect(await exited).toBe(0);
      expect(example.output.at(-1)).toMatch(/^cdc: OK, 30 edits /);
    });
  },
);
