/**
 * @module dashboard/build
 * Bundles the dashboard (`app/`, Preact + uPlot + the client SDK) for browsers with esbuild:
 * `index.html` plus content-hashed files under `assets/`, which the server serves with a
 * year-long immutable cache (`serve.ts`). `npm run build` runs it after `tsc` (`build-main.ts`),
 * writing to `dist/dashboard/site/`; tests build into a temporary directory.
 *
 * @example
 * const report = await buildDashboard('/tmp/site');
 * console.log(report.files); // [{ name: 'assets/main-3FJ2K.js', bytes: 98304, gzipBytes: 33120 }, …]
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export interface BuiltFile {
  /** Path inside the site directory, e.g. `assets/main-3FJ2K.js`. */
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

export interface DashboardBuildReport {
  readonly dir: string;
  /** What `index.html` loads first: the entry script and its stylesheet (`assets/…`). */
  readonly entry: { readonly script: string; readonly style: string };
  /** Every file written, chunks loaded later included. */
  readonly files: readonly BuiltFile[];
}

/**
 * The app's source directory: beside this module when it runs from `src/`, `src/dashboard/app/`
 * of the checkout when it runs compiled from `dist/dashboard/`.
 */
function appDir(): string {
  const beside = fileURLToPath(new URL('./app/', import.meta.url));
  if (existsSync(join(beside, 'main.tsx'))) return beside;
  return fileURLToPath(new URL('../../src/dashboard/app/', import.meta.url));
}

/** Builds the site into `outDir` (emptied first). */
export async function buildDashboard(outDir: string): Promise<DashboardBuildReport> {
  const source = appDir();
  const result = await build({
    entryPoints: [join(source, 'main.tsx')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Chromium, Firefox and Safari of the last three years.
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    // The SDK and uPlot are loaded by the views that need them (dynamic imports): chunks.
    splitting: true,
    entryNames: '[name]-[hash]',
    chunkNames: '[name]-[hash]',
    metafile: true,
    outdir: join(outDir, 'assets'),
    write: false,
    logLevel: 'silent',
    legalComments: 'eof',
  });
  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(outDir, 'assets'), { recursive: true });
  const files: BuiltFile[] = [];
  let script = '';
  let style = '';
  for (const [path, output] of Object.entries(result.metafile.outputs)) {
    // Dynamically imported modules are entry points of their own chunks: only main.tsx is the page's.
    if (output.entryPoint === undefined || !output.entryPoint.endsWith('main.tsx')) continue;
    script = `assets/${basename(path)}`;
    if (output.cssBundle !== undefined) style = `assets/${basename(output.cssBundle)}`;
  }
  if (script === '') throw new Error('the dashboard build produced no entry script');
  for (const file of result.outputFiles) {
    await writeFile(file.path, file.contents);
    const name = `assets/${basename(file.path)}`;
    files.push({ name, bytes: file.contents.byteLength, gzipBytes: gzipSync(file.contents).byteLength });
  }
  const html = indexHtml(script, style);
  await writeFile(join(outDir, 'index.html'), html);
  files.push({ name: 'index.html', bytes: Buffer.byteLength(html), gzipBytes: gzipSync(html).byteLength });
  return { dir: outDir, entry: { script, style }, files };
}

/** The page: no inline script or style, so the CSP can forbid both. */
function indexHtml(script: string, style: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<title>Tributary</title>',
    '<link rel="icon" href="data:,">',
    style === '' ? '' : `<link rel="stylesheet" href="/dashboard/${style}">`,
    `<script type="module" src="/dashboard/${script}"></script>`,
    '</head>',
    '<body>',
    '<div id="app"><p class="boot">Loading the Tributary dashboard…</p></div>',
    '<noscript>The Tributary dashboard needs JavaScript.</noscript>',
    '</body>',
    '</html>',
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}
