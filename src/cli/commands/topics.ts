/**
 * @module cli/commands/topics
 * `tributary topics create|list|describe|delete`: topic administration over the HTTP API.
 *
 * @example
 * tributary topics create orders --partitions 3 --fsync always
 * tributary topics list
 * tributary topics describe orders --json
 * tributary topics delete orders
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { TopicDescription } from '../../broker/types.js';
import { addTopicConfigOptions, addUrlOption, apiRequest, intParser, type ServerOptions } from '../api.js';
import { formatBytes, table } from '../format.js';

type UrlOptions = ServerOptions;

interface CreateOptions extends UrlOptions {
  readonly partitions?: number;
  readonly fsync?: 'always' | 'interval' | 'never';
  readonly retentionMs?: number;
  readonly retentionBytes?: number;
  readonly compact?: boolean;
  readonly json?: boolean;
}

export function registerTopicsCommand(program: Command): void {
  const topics = program.command('topics').description('Create, list, describe and delete topics.');

  addUrlOption(
    addTopicConfigOptions(topics.command('create <name>'))
      .description('Create a topic.')
      .option('--partitions <n>', 'number of partitions (default 1)', intParser(1, 'The partition count'))
      .option('--json', 'print the topic description as JSON'),
  ).action(async (name: string, options: CreateOptions) => {
    const body = {
      name: checkTopicName(name),
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
      ...(options.fsync === undefined ? {} : { fsync: options.fsync }),
      ...(options.retentionMs === undefined ? {} : { retentionMs: options.retentionMs }),
      ...(options.retentionBytes === undefined ? {} : { retentionBytes: options.retentionBytes }),
      ...(options.compact ? { compact: true } : {}),
    };
    const topic = await apiRequest<TopicDescription>(options.server, 'POST', '/v1/topics', body);
    if (options.json) {
      print(JSON.stringify(topic, null, 2));
    } else {
      print(
        `Created topic "${topic.name}": ${topic.partitions.length} partition(s), fsync ${topic.config.fsync}` +
          `${topic.config.compact ? ', compacted' : ''}.`,
      );
    }
  });

  addUrlOption(
    topics
      .command('list')
      .description('List the topics as a table.')
      .option('--json', 'print the topic descriptions as JSON'),
  ).action(async (options: UrlOptions & { json?: boolean }) => {
    const { topics: list } = await apiRequest<{ topics: TopicDescription[] }>(
      options.server,
      'GET',
      '/v1/topics',
    );
    if (options.json) {
      print(JSON.stringify(list, null, 2));
      return;
    }
    if (list.length === 0) {
      print('No topics.');
      return;
    }
    print(
      table(
        ['NAME', 'PARTITIONS', 'FSYNC', 'RETENTION', 'COMPACT', 'RECORDS', 'SIZE'],
        list.map((topic) => [
          topic.name,
          String(topic.partitions.length),
          topic.config.fsync,
          retention(topic),
          topic.config.compact ? 'yes' : 'no',
          String(topic.partitions.reduce((sum, p) => sum + (p.next - p.earliest), 0)),
          formatBytes(topic.partitions.reduce((sum, p) => sum + p.sizeBytes, 0)),
        ]),
      ),
    );
  });

  addUrlOption(
    topics
      .command('describe <name>')
      .description("Show a topic's configuration and partitions.")
      .option('--json', 'print the topic description as JSON'),
  ).action(async (name: string, options: UrlOptions & { json?: boolean }) => {
    const topic = await apiRequest<TopicDescription>(options.server, 'GET', topicPath(name));
    if (options.json) {
      print(JSON.stringify(topic, null, 2));
      return;
    }
    const lines = [`Topic: ${topic.name}`];
    for (const [key, value] of Object.entries(topic.config)) lines.push(`  ${key}: ${String(value)}`);
    lines.push('');
    lines.push(
      table(
        ['PARTITION', 'EARLIEST', 'NEXT', 'SIZE'],
        topic.partitions.map((p) => [
          String(p.partition),
          String(p.earliest),
          String(p.next),
          formatBytes(p.sizeBytes),
        ]),
      ),
    );
    print(lines.join('\n'));
  });

  addUrlOption(topics.command('delete <name>').description('Delete a topic and all its data.')).action(
    async (name: string, options: UrlOptions) => {
      await apiRequest<undefined>(options.server, 'DELETE', topicPath(name));
      print(`Deleted topic "${name}".`);
    },
  );
}

export function topicPath(name: string): string {
  return `/v1/topics/${encodeURIComponent(checkTopicName(name))}`;
}

function checkTopicName(name: string): string {
  if (name.trim() === '') throw new InvalidArgumentError('The topic name must not be empty.');
  return name;
}

function retention(topic: TopicDescription): string {
  const parts: string[] = [];
  if (topic.config.retentionMs !== null) parts.push(`${topic.config.retentionMs} ms`);
  if (topic.config.retentionBytes !== null) parts.push(formatBytes(topic.config.retentionBytes));
  return parts.length === 0 ? 'forever' : parts.join(', ');
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
