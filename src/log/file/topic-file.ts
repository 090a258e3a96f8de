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
 * Whether a topic directory (or a file of that name) holds anything but leftovers of an
 * interrupted atomic write (`*.tmp`): such a directory is never reused or removed implicitly.
 */
export async function topicDirHoldsData(fs: LogFileSystem, dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).some((name) => !name.endsWith('.tmp'));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
