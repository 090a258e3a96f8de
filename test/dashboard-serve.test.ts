/**
 * How the server serves the built dashboard over HTTP (no browser): the page and its hashed
 * assets with the right types, caching and CSP, compressed when asked, and nothing else under
 * `/` taken from the routes that were there before.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../src/dashboard/serve.js';
import { startServer } from '../src/server/server.js';
import { type DashboardServer, startDashboardServer } from './fixtures/dashboard.js';

let dash: DashboardServer;
let url: string;

beforeAll(async () => {
  dash = await startDashboardServer();
  url = dash.server.url;
}, 60_000);

afterAll(async () => {
  await dash?.close();
});

function assetNames(): { script: string; style: string } {
  return dash.site.entry;
}

describe('the dashboard page', () => {
  it('is served at / as HTML with a CSP, no-cache and an ETag, and revalidates to 304', async () => {
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    const { script, style } = assetNames();
    expect(html).toContain(`<script type="module" src="/dashboard/${script}"></script>`);
    expect(html).toContain(`href="/dashboard/${style}"`);
    // Nothing inline: the CSP forbids inline scripts and styles.
    expect(html).not.toMatch(/<script>|<style|style="/);
    const etag = page.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(`${url}/`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('serves hashed assets with their types, immutable for a year, gzipped when asked', async () => {
    const { script, style } = assetNames();
    const js = await fetch(`${url}/dashboard/${script}`, { headers: { 'accept-encoding': 'identity' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-encoding')).toBeNull();
    const plain = Buffer.from(await js.arrayBuffer());
    expect(plain.byteLength).toBe(dash.site.files.find((f) => f.name === script)!.bytes);
    const css = await fetch(`${url}/dashboard/${style}`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    // fetch() decodes gzip itself; a raw request shows the encoding.
    const raw = await rawGet(`/dashboard/${script}`, { 'accept-encoding': 'gzip' });
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(raw.body).equals(plain)).toBe(true);
    const refused = await rawGet(`/dashboard/${script}`, { 'accept-encoding': 'gzip;q=0' });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('answers HEAD without a body, and 404 for an unknown asset or a path outside the assets', async () => {
    const head = await fetch(`${url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    for (const path of [
      '/dashboard/assets/nothing.js',
      '/dashboard/assets/../../package.json',
      '/dashboard/assets/%2e%2e%2fpackage.json',
      '/dashboard/',
      '/index.html',
    ]) {
      const answer = await fetch(`${url}${path}`);
      expect({ path, status: answer.status }).toEqual({ path, status: 404 });
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
  });

  it('leaves the other routes alone: the API, /healthz, /metrics, and other methods on /', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/v1/topics`)).status).toBe(200);
    const post = await fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(post.status).toBe(404);
  });
});

describe('a server without the built dashboard', () => {
  it('answers / with NOT_FOUND saying how to build it; null turns the dashboard off', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tributary-no-dashboard-'));
    const missing = await startServer({
      dataDir: join(root, 'a'),
      port: 0,
      host: '127.0.0.1',
      dashboardDir: join(root, 'nothing'),
    });
    const off = await startServer({
      dataDir: join(root, 'b'),
      port: 0,
      host: '127.0.0.1',
      dashboardDir: null,
    });
    try {
      const answer = await fetch(`${missing.url}/`);
      expect(answer.status).toBe(404);
      const body = (await answer.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('NOT_FOUND');
      expect(body.error.message).toContain('npm run build');
      const none = (await (await fetch(`${off.url}/`)).json()) as { error: { message: string } };
      expect(none.error.message).not.toContain('npm run build');
    } finally {
      await missing.close();
      await off.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

/** A GET with exactly `headers` (fetch would add and decode Accept-Encoding itself). */
async function rawGet(
  path: string,
  headers: Readonly<Record<string, string>>,
): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}
