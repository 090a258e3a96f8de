/**
 * @module cli/commands/produce
 * `tributary produce TOPIC`: reads stdin, one record per line, and produces them in order,
 * in batches (one HTTP request each, answered once durable). A line's value is the line parsed
 * as JSON when it parses, else the line as a JSON string. With `--key-separator SEP`, the part
 * before the first SEP is the key (a line without SEP gets no key). Empty lines are skipped.
 * A summary goes to stderr.
 *
 * @example
 * printf '{"qty":2}\nhello\n' | tributary produce orders
 * printf 'user-1:{"name":"Ada"}\n' | tributary produce users --key-separator :
 */
import type { Command } from 'commander';
import { addUrlOption, apiRequest, CliError, intParser, type ServerOptions } from '../api.js';
import { stdinLines } from '../credentials.js';
import { topicPath } from './topics.js';

/** Default lines per request. */
export const PRODUCE_BATCH_RECORDS = 500;
/** A batch is also sent once its JSON reaches about this size, far below the server's body limit. */
export const PRODUCE_BATCH_BYTES = 1024 * 1024;

interface ProduceOptions extends ServerOptions {
  readonly keySeparator?: string;
  readonly partition?: number;
  readonly batchSize: number;
}

interface RecordBody {
  key?: string;
  value: unknown;
  partition?: number;
}

export function registerProduceCommand(program: Command): void {
  addUrlOption(
    program
      .command('produce <topic>')
      .description('Produce records from stdin, one per line (JSON if it parses, else a string).')
      .option('--key-separator <sep>', 'the part of a line before the first <sep> is the record key')
      .option(
        '--partition <p>',
        'produce to this partition (default: from the key, else spread)',
        intParser(0, 'The partition'),
      )
      .option(
        '--batch-size <n>',
        'records per request',
        intParser(1, 'The batch size'),
        PRODUCE_BATCH_RECORDS,
      ),
  ).action(async (topic: string, options: ProduceOptions) => {
    if (options.keySeparator === '') throw new CliError('The key separator must not be empty.', 2);
    await produceStdin(topic, options);
  });
}

async function produceStdin(topic: string, options: ProduceOptions): Promise<void> {
  const path = `${topicPath(topic)}/records`;
  const started = Date.now();
  let batch: RecordBody[] = [];
  let batchBytes = 0;
  let produced = 0;
  let requests = 0;
  const partitions = new Set<number>();

  const send = async (): Promise<void> => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    batchBytes = 0;
    try {
      const { offsets } = await apiRequest<{ offsets: { partition: number; offset: number }[] }>(
        options.server,
        'POST',
        path,
        { records },
      );
      for (const { partition } of offsets) partitions.add(partition);
    } catch (error) {
      if (error instanceof CliError) {
        throw new CliError(`${error.message}\n${produced} record(s) had been produced before this error.`);
      }
      throw error;
    }
    produced += records.length;
    requests++;
  };

  // Shared with --password-stdin, which takes the first line.
  const lines = { [Symbol.asyncIterator]: stdinLines };
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const record = lineToRecord(line, options);
    batch.push(record);
    batchBytes += line.length + 16;
    if (batch.length >= options.batchSize || batchBytes >= PRODUCE_BATCH_BYTES) await send();
  }
  await send();
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(
    `Produced ${produced} record(s) to "${topic}" in ${requests} request(s) ` +
      `(partitions: ${[...partitions].sort((a, b) => a - b).join(', ') || 'none'}; ${seconds.toFixed(2)} s).\n`,
  );
}

/** One stdin line as a record body of the HTTP API. */
export function lineToRecord(
  line: string,
  options: { keySeparator?: string; partition?: number },
): RecordBody {
  let text = line;
  const record: Partial<RecordBody> = {};
  if (options.keySeparator !== undefined) {
    const at = line.indexOf(options.keySeparator);
    if (at >= 0) {
      record.key = line.slice(0, at);
      text = line.slice(at + options.keySeparator.length);
    }
  }
  record.value = parseValue(text);
  if (options.partition !== undefined) record.partition = options.partition;
  return record as RecordBody;
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
