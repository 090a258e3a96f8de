/**
 * The dashboard in a real browser: `tributary serve` serves the built page at `/`, Debian's
 * Chromium (playwright-core) opens it, and records produced over the HTTP API while the page is
 * open must move the numbers it shows. Screenshots go to test-results/dashboard/.
 *
 * Needs /usr/bin/chromium; without it the suite is skipped, unless TRIBUTARY_REQUIRE_SERVICES=1.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, describeWithoutChromium, hasChromium, launchChromium } from './fixtures/chromium.js';
import {
  createTopicHttp,
  type DashboardServer,
  produceHttp,
  screenshot,
  startDashboardServer,
  watchPage,
} from './fixtures/dashboard.js';

describeWithoutChromium(
  'dashboard in Chromium',
  `skipped: ${CHROMIUM} is absent (apt-get install -y chromium; CI sets TRIBUTARY_REQUIRE_SERVICES=1)`,
);

describe.runIf(hasChromium)('dashboard in Chromium', () => {
  let dash: DashboardServer;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    dash = await startDashboardServer();
    url = dash.server.url;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
  });

  async function open(hash = ''): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage();
    const { problems } = watchPage(page);
    await page.goto(`${url}/${hash}`);
    return { page, problems };
  }

  it('lists topics and moves their end offsets as records are produced', async () => {
    await createTopicHttp(url, 'orders', 3);
    await produceHttp(url, 'orders', [{ key: 'a', value: { n: 1 } }]);
    const { page, problems } = await open();
    const offsets = page.locator('tr[data-topic="orders"] [data-field="end-offsets"]');
    await offsets.waitFor();
    await expect.poll(() => offsets.textContent(), { timeout: 10_000 }).toBe('1');
    await produceHttp(
      url,
      'orders',
      Array.from({ length: 41 }, (_, i) => ({ key: `k${i}`, value: { n: i } })),
    );
    await expect.poll(() => offsets.textContent(), { timeout: 10_000 }).toBe('42');
    await screenshot(page, 'topics');
    expect(problems).toEqual([]);
    await page.close();
  });
});
