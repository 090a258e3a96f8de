/**
 * @module log/file/topic-file
 * `<data>/topics/<topic>/topic.json`, the topic's configuration. Reading it says why it cannot be
 * used (missing, not JSON, not a valid configuration) instead of hiding the topic: a topic whose
 * file is unreadable still has its segments, which must never be mistaken for free space.
 */

import { join } from 'node:path';
import type { TopicConfig } from '../types.js';
import { resolveTopicConfig } from '../validation.js';
import type { LogFileSystem } from './fs.js';
import { errorText } from './segment.js';

export const TOPIC_FILE = 'topic.json';

export type TopicFileRead = { readonly config: TopicConfig } | { readonly problem: string };

export async function readTopicFile(fs: LogFileSystem, dir: string): Promise<TopicFileRead> {
  let text: string;
  try {
    text = new TextDecoder().decode(await fs.readFile(join(dir, TOPIC_FILE)));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      problem: code === 'ENOENT' ? `${TOPIC_FILE} is missing` : `${TOPIC_FILE} cannot be read (${code})`,
    };
  }
  try {
    return { config: resolveTopicConfig(JSON.parse(text) as Partial<TopicConfig>) };
  } catch (error) {
    return { problem: `${TOPIC_FILE} is not a valid topic configuration (${errorText(error)})` };
  }
}

/**
 * Whether a topic directory (or a file of that name) holds data: anything but leftovers of an
 * interrupted atomic write (`*.tmp`) and empty partition directories (a creation cut short makes
 * those before its topic.json). Such a directory is never reused or removed implicitly.
 */
export async function topicDirHoldsData(fs: LogFileSystem, dir: string): Promise<boolean> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  for (const name of names) {
    if (name.endsWith('.tmp')) continue;
    if (!/^(0|[1-9]\d*)$/.test(name)) return true;
    const inside = await fs.readdir(join(dir, name)).catch(() => null);
    if (inside === null || inside.some((n) => !n.endsWith('.tmp'))) return true;
  }
  return false;
}
