import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import { openFileLog } from './file-log.js';
import { derivedTopicId } from './topic-file.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const dirs: string[] = [];

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-topic-id-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string) {
  return openFileLog({ dir, logger: pino({ level: 'silent' }), maintenanceIntervalMs: 0 });
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('topic ids', () => {
  it('are random at creation, kept in topic.json across a reopen, and new for a topic created again', async () => {
    const dir = await dataDir();
    let log = await open(dir);
    const a = await log.createTopic('a');
    const b = await log.createTopic('b');
    expect(a.id).toMatch(UUID);
    expect(b.id).not.toBe(a.id);
    const stored = JSON.parse(await readFile(join(dir, 'topics', 'a', 'topic.json'), 'utf8')) as {
      id: string;
    };
    expect(stored.id).toBe(a.id);
    await log.close();

    log = await open(dir);
    expect((await log.describeTopic('a')).id).toBe(a.id);
    await log.deleteTopic('a');
    const again = await log.createTopic('a');
    expect(again.id).not.toBe(a.id);
    await log.close();
  });

  it('a topic.json without an id (older data) gets one derived from the name, the same on every open', async () => {
    const dir = await dataDir();
    let log = await open(dir);
    await log.createTopic('legacy');
    await log.close();
    const file = join(dir, 'topics', 'legacy', 'topic.json');
    const { id: _, ...config } = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify(config));

    log = await open(dir);
    const id = (await log.describeTopic('legacy')).id;
    expect(id).toMatch(UUID);
    expect(id).toBe(derivedTopicId('legacy'));
    expect(id).not.toBe(derivedTopicId('legacy2'));
    await log.close();
    log = await open(dir);
    expect((await log.describeTopic('legacy')).id).toBe(id);
    await log.close();
  });

  it('a topic.json whose id is not a UUID keeps the topic aside as damaged', async () => {
    const dir = await dataDir();
    let log = await open(dir);
    await log.createTopic('odd');
    await log.append('odd', 0, [{ key: null, value: new Uint8Array([1]), headers: [], timestamp: 1 }]);
    await log.close();
    const file = join(dir, 'topics', 'odd', 'topic.json');
    const stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...stored, id: 'not-an-id' }));

    log = await open(dir);
    try {
      await log.describeTopic('odd');
      expect.unreachable('the topic should be damaged');
    } catch (error) {
      expect(isTributaryError(error, 'TOPIC_DAMAGED')).toBe(true);
      expect((error as Error).message).toContain('not a lowercase UUID');
    }
    await log.close();
  });
});
