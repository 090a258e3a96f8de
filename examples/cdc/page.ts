/**
 * The browser page of the CDC example: a plain HTML page with the SDK bundled for browsers
 * (esbuild, at start), which subscribes to the live collection that mirrors the Postgres table
 * and redraws a table of its rows on every change. `window.cdcPage` lets a test read what the
 * page saw.
 *
 * An application would load `tributary-sync/client` through its own bundler instead.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface PageServer {
  /** `http://127.0.0.1:<port>`, the page's origin (the Tributary server must allow it). */
  readonly origin: string;
  /** The page's address for a Tributary server at `serverUrl` and its collection `collection`. */
  pageUrl(serverUrl: string, collection: string): string;
  close(): Promise<void>;
}

async function bundleSdk(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../../src/client/index.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    globalName: 'Tributary',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** The page: everything it shows comes from the live query, nothing from Postgres directly. */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Postgres, live</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; min-width: 28rem; }
  th, td { padding: .3rem .8rem; border-bottom: 1px solid #ddd; text-align: left; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.fresh { background: #fff3b0; transition: background 1s; }
  #status { color: #666; margin-bottom: 1rem; }
</style>
</head>
<body>
<h1>Products, live from Postgres</h1>
<p id="status">connecting…</p>
<table>
  <thead><tr><th>id</th><th>name</th><th>price</th><th>stock</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
<script src="/tributary.js"></script>
<script type="module">
const params = new URLSearchParams(location.search);
const state = { snapshots: 0, changeEvents: 0, changes: 0, error: null };
window.cdcPage = {
  state,
  rows: () => [...document.querySelectorAll('#rows tr')].map((tr) => JSON.parse(tr.dataset.row)),
};
const status = document.getElementById('status');
const body = document.getElementById('rows');

function render(items, fresh) {
  body.replaceChildren(
    ...[...items]
      .sort((a, b) => Number(a.value.id) - Number(b.value.id))
      .map(({ key, value }) => {
        const tr = document.createElement('tr');
        tr.dataset.row = JSON.stringify(value);
        if (fresh.has(key)) tr.className = 'fresh';
        for (const [text, numeric] of [
          [value.id, true],
          [value.name, false],
          [(Number(value.price_cents) / 100).toFixed(2), true],
          [value.stock, true],
        ]) {
          const td = document.createElement('td');
          td.textContent = String(text);
          if (numeric) td.className = 'num';
          tr.append(td);
        }
        return tr;
      }),
  );
  status.textContent = items.length + ' rows, ' + state.changes + ' live changes';
}

try {
  const client = await Tributary.connect({ url: params.get('server') });
  const products = client.collection(params.get('collection')).subscribe({});
  products.on('snapshot', (items) => {
    state.snapshots++;
    render(items, new Set());
  });
  products.on('change', ({ added, changed, removed }) => {
    state.changeEvents++;
    state.changes += added.length + changed.length + removed.length;
    render(products.current(), new Set([...added, ...changed].map((item) => item.key)));
  });
  await products.ready;
  render(products.current(), new Set());
} catch (error) {
  state.error = String(error);
  status.textContent = 'failed: ' + state.error;
}
</script>
</body>
</html>
`;

/** Serves the page at `/` and the SDK bundle at `/tributary.js` on a free loopback port. */
export async function servePage(): Promise<PageServer> {
  const sdk = await bundleSdk();
  const http = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://page').pathname;
    if (path === '/tributary.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
    else if (path === '/') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    origin,
    pageUrl: (serverUrl, collection) =>
      `${origin}/?server=${encodeURIComponent(serverUrl)}&collection=${encodeURIComponent(collection)}`,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}
