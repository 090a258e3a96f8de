/**
 * @module cli/commands/topics
 * `tributary topics create|list|describe|delete|add-partitions|delete-records`: topic
 * administration over the HTTP API.
 *
 * @example
 * tributary topics create orders --partitions 3 --fsync always
 * tributary topics add-partitions orders --partitions 6
 * tributary topics delete-records orders --partition 0 --before 1000
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
  const topics = program
    .command('topics')
    .description('Create, list, describe and delete topics; add partitions; delete old records.');

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

  addUrlOption(
    topics
      .command('add-partitions <name>')
      .description('Grow a topic to more partitions (keyed records map by the new count from then on).')
      .requiredOption(
        '--partitions <n>',
        'the new partition count in all',
        intParser(1, 'The partition count'),
      )
      .option('--json', 'print the topic description as JSON'),
  ).action(async (name: string, options: UrlOptions & { partitions: number; json?: boolean }) => {
    const topic = await apiRequest<TopicDescription>(
      options.server,
      'POST',
      `${topicPath(name)}/partitions`,
      {
        partitions: options.partitions,
      },
    );
    if (options.json) print(JSON.stringify(topic, null, 2));
    else print(`Topic "${topic.name}" has ${topic.partitions.length} partition(s).`);
  });

  addUrlOption(
    topics
      .command('delete-records <name>')
      .description("Delete a partition's records below an offset (its earliest offset moves up to it).")
      .requiredOption('--partition <p>', 'the partition', intParser(0, 'The partition'))
      .requiredOption('--before <offset>', 'delete records below this offset', intParser(0, 'The offset'))
      .option('--json', 'print the answer as JSON'),
  ).action(
    async (name: string, options: UrlOptions & { partition: number; before: number; json?: boolean }) => {
      const answer = await apiRequest<{ topic: string; partition: number; earliest: number }>(
        options.server,
        'DELETE',
        `${topicPath(name)}/partitions/${options.partition}/records?before=${options.before}`,
      );
      if (options.json) print(JSON.stringify(answer, null, 2));
      else
        print(`Partition ${answer.partition} of "${answer.topic}" now starts at offset ${answer.earliest}.`);
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
