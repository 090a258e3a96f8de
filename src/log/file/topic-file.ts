/**
 * @module log/file/topic-file
 * `<data>/topics/<topic>/topic.json`, the topic's configuration and id. Reading it says why it
 * cannot be used (missing, not JSON, not a valid configuration) instead of hiding the topic: a
 * topic whose file is unreadable still has its segments, which must never be mistaken for free
 * space.
 */

import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import type { TopicConfig } from '../types.js';
import { resolveTopicConfig } from '../validation.js';
import { writeJsonAtomic } from './checkpoint.js';
import type { LogFileSystem } from './fs.js';
import { errorText } from './segment.js';

export const TOPIC_FILE = 'topic.json';

export type TopicFileRead =
  | { readonly config: TopicConfig; readonly id: string }
  | { readonly problem: string };

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Writes topic.json atomically: the config's fields and `id`. */
export async function writeTopicFile(
  fs: LogFileSystem,
  dir: string,
  config: TopicConfig,
  id: string,
): Promise<void> {
  await writeJsonAtomic(fs, join(dir, TOPIC_FILE), { ...config, id });
}

/**
 * The id of a topic whose topic.json predates topic ids (or was rebuilt without one): derived
 * from the name, so it is stable across restarts without rewriting the file.
 */
export function derivedTopicId(name: string): string {
  const h = createHash('sha256').update(`tributary topic ${name}`).digest('hex');
  // RFC 9562 version 8 (custom) and variant bits, so it never looks like a random v4 id.
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

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
    const { id, ...config } = JSON.parse(text) as Partial<TopicConfig> & { id?: unknown };
    if (id !== undefined && !(typeof id === 'string' && UUID_PATTERN.test(id))) {
      return { problem: `${TOPIC_FILE} has an id that is not a lowercase UUID` };
    }
    return { config: resolveTopicConfig(config), id: id ?? derivedTopicId(basename(dir)) };
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
