/**
 * @module cli/commands/consume
 * `tributary consume TOPIC`: follows a topic over Server-Sent Events and prints one JSON record
 * per line on stdout (`{ topic, partition, offset, timestamp, key, value, headers }`, see
 * docs/http-api.md). Exits 0 after `--max` records or on SIGINT/SIGTERM. When the connection
 * drops it reconnects with the last event id, so nothing is missed or printed twice. A `reset`
 * (history removed by retention) is reported on stderr. Stdout is written with backpressure: a
 * slow pipe slows the stream down (the server's flow control), it is not buffered.
 *
 * With `--group G` it consumes as a member of consumer group G instead, through the client SDK
 * over WebSocket (`consume-group.ts`): partitions are assigned by the server and offsets are
 * committed; `--from` (earliest/latest) only applies to partitions without a committed offset.
 *
 * @example
 * tributary consume orders --from earliest --max 10
 * tributary consume orders --from latest --partition 2 | jq .value
 * tributary consume orders --group billing --from earliest
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  addUrlOption,
  apiFetch,
  CliError,
  EXIT_USAGE,
  intParser,
  NetworkError,
  networkReason,
  type ServerOptions,
} from '../api.js';
import { SseParser } from '../sse.js';
import { consumeAsGroupMember } from './consume-group.js';
import { topicPath } from './topics.js';

/** Reconnection attempts in a row before giving up (exit 1). */
export const CONSUME_RECONNECTS_MAX = 5;
const RECONNECT_DELAY_MS = 250;

interface ConsumeOptions extends ServerOptions {
  readonly from: string;
  readonly partition?: number;
  readonly max?: number;
  readonly group?: string;
}

export function registerConsumeCommand(program: Command): void {
  addUrlOption(
    program
      .command('consume <topic>')
      .description('Print records as they arrive, one JSON object per line (Server-Sent Events).')
      .addOption(
        new Option('--from <position>', 'where to start: earliest, latest or an offset')
          .default('latest')
          .argParser(parseFrom),
      )
      .option('--partition <p>', 'only this partition (default: all)', intParser(0, 'The partition'))
      .option('--max <n>', 'exit after this many records', intParser(1, 'The record count'))
      .option(
        '--group <group>',
        'consume as a member of this consumer group (over WebSocket; commits offsets)',
      ),
  ).action(async (topic: string, options: ConsumeOptions) => {
    if (options.group !== undefined) {
      if (options.partition !== undefined) {
        throw new CliError(
          '--group and --partition do not go together: the group assigns partitions.',
          EXIT_USAGE,
        );
      }
      if (options.from !== 'earliest' && options.from !== 'latest') {
        throw new CliError(
          'With --group, --from is earliest or latest (where partitions without a committed offset start).',
          EXIT_USAGE,
        );
      }
      await consumeAsGroupMember(topic, {
        server: options.server,
        group: options.group,
        from: options.from,
        ...(options.max === undefined ? {} : { max: options.max }),
      });
      return;
    }
    await consume(topic, options);
  });
}

function parseFrom(value: string): string {
  if (value === 'earliest' || value === 'latest' || /^\d{1,15}$/.test(value)) return value;
  throw new InvalidArgumentError('Use earliest, latest or an offset (a non-negative integer).');
}

async function consume(topic: string, options: ConsumeOptions): Promise<void> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const query = new URLSearchParams({ from: options.from });
  if (options.partition !== undefined) query.set('partition', String(options.partition));
  const path = `${topicPath(topic)}/events?${query}`;
  const state = { printed: 0, lastEventId: undefined as string | undefined };
  const done = (): boolean =>
    stop.signal.aborted || (options.max !== undefined && state.printed >= options.max);
  let connected = false;
  let attempts = 0;
  try {
    for (;;) {
      let lastError: unknown;
      try {
        if (await stream(path, options, state, stop.signal)) attempts = 0;
        connected = true;
      } catch (error) {
        // Before the first connection, and for any answer of the server, there is nothing to retry.
        if (!(error instanceof NetworkError) || !connected) throw error;
        lastError = error;
      }
      if (done()) break;
      // The stream ended (server shutdown, network): resume after the last event id.
      if (++attempts > CONSUME_RECONNECTS_MAX) {
        throw lastError ?? new NetworkError('The server keeps closing the event stream');
      }
      await delay(RECONNECT_DELAY_MS * 2 ** (attempts - 1), stop.signal);
      if (done()) break;
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** One connection; resolves when it ends. True when at least one event arrived. */
async function stream(
  path: string,
  options: ConsumeOptions,
  state: { printed: number; lastEventId: string | undefined },
  signal: AbortSignal,
): Promise<boolean> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (state.lastEventId !== undefined) headers['last-event-id'] = state.lastEventId;
  const local = new AbortController();
  const abort = (): void => local.abort();
  signal.addEventListener('abort', abort, { once: true });
  let received = false;
  try {
    const response = await apiFetch(options.server, path, { headers, signal: local.signal });
    if (response.body === null) return false;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      for (const event of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
        received = true;
        if (event.event === 'record') {
          await writeLine(event.data);
          state.printed++;
        } else if (event.event === 'reset') {
          reportReset(event.data);
        } else if (event.event === 'error') {
          throw new CliError(describeStreamError(event.data));
        }
        // The id is taken after the event was handled: a reconnect resumes right after it.
        if (event.id !== undefined) state.lastEventId = event.id;
        if (options.max !== undefined && state.printed >= options.max) {
          local.abort();
          return received;
        }
      }
    }
    return received;
  } catch (error) {
    if (local.signal.aborted) return received;
    if (error instanceof CliError) throw error;
    throw new NetworkError(`The event stream broke: ${networkReason(error)}`);
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

function writeLine(line: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(`${line}\n`)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

function reportReset(data: string): void {
  try {
    const reset = JSON.parse(data) as { partition: number; requested: number; offset: number };
    process.stderr.write(
      `warning: partition ${reset.partition}: records from offset ${reset.requested} are gone ` +
        `(retention); continuing from offset ${reset.offset}\n`,
    );
  } catch {
    process.stderr.write(`warning: reset: ${data}\n`);
  }
}

function describeStreamError(data: string): string {
  try {
    const { error } = JSON.parse(data) as { error: { code: string; message: string } };
    return `${error.code}: ${error.message}`;
  } catch {
    return `The stream ended with an error: ${data}`;
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
