/**
 * @module dashboard/build-main
 * `npm run build` runs this after `tsc`: bundles the dashboard into `dist/dashboard/site/` (the
 * directory `serve.ts` serves by default) and prints each file's size, raw and gzipped, on
 * stderr (stdout belongs to whoever runs the build: `npm pack --json` runs it as `prepare`).
 */
import { buildDashboard } from './build.js';
import { DEFAULT_SITE_DIR } from './serve.js';

const report = await buildDashboard(DEFAULT_SITE_DIR);
for (const file of report.files) {
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  process.stderr.write(`dashboard ${file.name}: ${kib(file.bytes)} (gzip ${kib(file.gzipBytes)})\n`);
}
