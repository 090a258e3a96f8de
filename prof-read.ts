import { mkdtempSync } from 'node:fs';
import { openFileLog } from './src/log/file/file-log.js';
const dir = mkdtempSync('/tmp/trib-prof-');
const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
await log.createTopic('t', { fsync: 'never' });
const value = new Uint8Array(100).fill(7);
const batch = Array.from({ length: 1000 }, () => ({ key: null, value }));
for (let i = 0; i < 1000; i++) await log.append('t', 0, batch);
for (let rep = 0; rep < 3; rep++) {
  const t = performance.now();
  let offset = 0; let n = 0;
  while (offset < 1_000_000) {
    const recs = await log.read('t', 0, offset, { maxRecords: 50_000, maxBytes: 8 * 1024 * 1024 });
    n += recs.length; offset = recs[recs.length - 1]!.offset + 1;
  }
  console.log('read/s', Math.round(n / ((performance.now() - t) / 1000)));
}
await log.close();
