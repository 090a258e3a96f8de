/**
 * @module cli/commands/consume
 * `tributary consume TOPIC`: follows a topic over Server-Sent Events and prints one JSON record
 * per line on stdout (`{ topic, partition, offset, timestamp, key, value, headers }`, see
 * docs/http-api.md). Starts at `earliest` unless `--from` says otherwise, as the SDK's consumers
 * do. Exits 0 after `--max` records, with `--exit-at-end` (`-e`, kcat's flag) once every
 * partition is read up to where it ended when the command started, or on SIGINT/SIGTERM. When the connection
 * drops it reconnects with the last event id, so nothing is missed or printed twice. A `reset`
 * (history removed by retention) is reported on stderr. Stdout is written with backpressure: a
 * slow pipe slows the stream down (the server's flow control), it is not buffered.
 *
 * With `--group G` it consumes as a member of consumer group G instead, through the client SDK
 * over WebSocket (`consume-group.ts`): partitions are assigned by the server and offsets are
 * committed; `--from` (earliest/latest) only applies to partitions without a committed offset.
 *
 * @example
 * tributary consume orders --max 10
 * tributary consume orders -e > orders.jsonl       # everything there is, then exit
 * tributary consume orders --from latest --partition 2 | jq .value
 * tributary consume orders --group billing
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { TopicDescription } from '../../broker/types.js';
import {
  addUrlOption,
  apiFetch,
  apiRequest,
  CliError,
  EXIT_USAGE,
  intParser,
  NetworkError,
  networkReason,
  type ServerOptions,
} from '../api.js';
import { SseParser } from '../sse.js';
import { topicPath } from './topics.js';

/** Reconnection attempts in a row before giving up (exit 1). */
export const CONSUME_RECONNECTS_MAX = 5;
const RECONNECT_DELAY_MS = 250;

interface ConsumeOptions extends ServerOptions {
  readonly from: string;
  readonly partition?: number;
  readonly max?: number;
  readonly group?: string;
  readonly exitAtEnd?: boolean;
}

/** Where `consume` starts by default: the SDK's consumers and group consumers start there too. */
export const CONSUME_FROM_DEFAULT = 'earliest';

export function registerConsumeCommand(program: Command): void {
  addUrlOption(
    program
      .command('consume <topic>')
      .description('Print records as they arrive, one JSON object per line (Server-Sent Events).')
      .addOption(
        new Option(
          '--from <position>',
          'where to start: earliest, latest or an offset (with --group: where partitions without a committed offset start)',
        )
          .default(CONSUME_FROM_DEFAULT)
          .argParser(parseFrom),
      )
      .option('--partition <p>', 'only this partition (default: all)', intParser(0, 'The partition'))
      .option('--max <n>', 'exit after this many records', intParser(1, 'The record count'))
      .option(
        '-e, --exit-at-end',
        'exit once every partition is read to its end (its next offset when the command started), like kcat -e',
      )
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
      // The SDK (and its WebSocket library) loads only for --group.
      const { consumeAsGroupMember } = await import('./consume-group.js');
      await consumeAsGroupMember(topic, {
        server: options.server,
        group: options.group,
        from: options.from,
        ...(options.max === undefined ? {} : { max: options.max }),
        exitAtEnd: options.exitAtEnd === true,
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
  // With --exit-at-end: each partition's end is its next offset now, before the stream opens.
  const ends = options.exitAtEnd === true ? await partitionEnds(topic, options) : undefined;
  const state: StreamState = { printed: 0, lastEventId: undefined, positions: new Map(), ends };
  const done = (): boolean => stop.signal.aborted || finished(state, options);
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

interface StreamState {
  printed: number;
  lastEventId: string | undefined;
  /** The offset each partition of the stream goes on from (`ready`, then after each record). */
  readonly positions: Map<number, number>;
  /** With --exit-at-end: the offset each partition is read up to. */
  readonly ends: ReadonlyMap<number, number> | undefined;
}

/** The next offset of each partition of the stream, as the server says now. */
async function partitionEnds(topic: string, options: ConsumeOptions): Promise<Map<number, number>> {
  const description = await apiRequest<TopicDescription>(options.server, 'GET', topicPath(topic));
  const ends = new Map<number, number>();
  for (const { partition, next } of description.partitions) {
    if (options.partition === undefined || options.partition === partition) ends.set(partition, next);
  }
  return ends;
}

/** `--max` records printed, or (`--exit-at-end`) every partition read up to its end. */
function finished(state: StreamState, options: ConsumeOptions): boolean {
  if (options.max !== undefined && state.printed >= options.max) return true;
  if (state.ends === undefined || state.positions.size === 0) return false;
  for (const [partition, end] of state.ends) {
    if ((state.positions.get(partition) ?? -1) < end) return false;
  }
  return true;
}

/** Notes where the partitions of a `ready` event start; ignores data it cannot read. */
function notePositions(data: string, positions: Map<number, number>): void {
  try {
    const ready = JSON.parse(data) as { partitions?: { partition: number; offset: number }[] };
    for (const { partition, offset } of ready.partitions ?? []) positions.set(partition, offset);
  } catch {
    // A `ready` event always carries JSON; without it --exit-at-end waits for records.
  }
}

function recordPosition(data: string): { partition: number; offset: number } | undefined {
  try {
    const { partition, offset } = JSON.parse(data) as { partition: number; offset: number };
    return typeof partition === 'number' && typeof offset === 'number' ? { partition, offset } : undefined;
  } catch {
    return undefined;
  }
}

/** One connection; resolves when it ends. True when at least one event arrived. */
async function stream(
  path: string,
  options: ConsumeOptions,
  state: StreamState,
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
          if (state.ends !== undefined) {
            const at = recordPosition(event.data);
            if (at !== undefined) state.positions.set(at.partition, at.offset + 1);
          }
        } else if (event.event === 'ready') {
          notePositions(event.data, state.positions);
        } else if (event.event === 'reset') {
          reportReset(event.data);
          // The partition goes on from its earliest offset (its `offset`).
          const reset = recordPosition(event.data);
          if (reset !== undefined) state.positions.set(reset.partition, reset.offset);
        } else if (event.event === 'error') {
          throw new CliError(describeStreamError(event.data));
        }
        // The id is taken after the event was handled: a reconnect resumes right after it.
        if (event.id !== undefined) state.lastEventId = event.id;
        if (finished(state, options)) {
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
