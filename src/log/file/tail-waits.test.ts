/**
 * Waits for appends under one shared signal (what a partition feed does at the tail): the
 * partition listens to the signal once, not once per wait, and an abort still rejects every
 * wait parked under it and nothing else.
 */
import { getEventListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openFileLog } from './file-log.js';

const enc = new TextEncoder();
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function openLog() {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-tail-waits-'));
  dirs.push(dir);
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  await log.createTopic('t', { fsync: 'never', partitions: 2 });
  return log;
}

describe('waits for appends under a shared signal', () => {
  it('listen to the signal once per partition, however many waits and appends', async () => {
    const log = await openLog();
    try {
      const controller = new AbortController();
      for (let offset = 0; offset < 50; offset++) {
        const waits = [0, 1, 2].map(() => log.waitForAppend('t', 0, offset, controller.signal));
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
        await log.append('t', 0, [{ key: null, value: enc.encode(`r${offset}`) }]);
        await Promise.all(waits);
      }
      void log.waitForAppend('t', 1, 0, controller.signal).catch(() => undefined);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(2);
    } finally {
      await log.close();
    }
  });

  it('an abort rejects the waits under that signal with its reason, and no other wait', async () => {
    const log = await openLog();
    try {
      const shared = new AbortController();
      const other = new AbortController();
      const settled = (promise: Promise<void>) =>
        promise.then(
          () => 'resolved',
          (error: unknown) => error,
        );
      const underShared = [0, 3].map((offset) => settled(log.waitForAppend('t', 0, offset, shared.signal)));
      const underOther = settled(log.waitForAppend('t', 0, 0, other.signal));
      const unsignalled = settled(log.waitForAppend('t', 0, 0));
      const reason = new Error('released');
      shared.abort(reason);
      expect(await Promise.all(underShared)).toEqual([reason, reason]);
      // Later waits under the aborted signal are refused at once.
      expect(await settled(log.waitForAppend('t', 0, 0, shared.signal))).toBe(reason);
      await log.append('t', 0, [{ key: null, value: enc.encode('r') }]);
      expect(await underOther).toBe('resolved');
      expect(await unsignalled).toBe('resolved');
    } finally {
      await log.close();
    }
  });
});
