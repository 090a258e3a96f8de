/**
 * @module cli/api
 * What the client commands share: the `--url` option, calls to the HTTP API with global `fetch`,
 * and {@link CliError}, which carries the exit code (1 runtime or server error, 2 usage).
 *
 * @example
 * const topics = await apiRequest<{ topics: TopicDescription[] }>(url, 'GET', '/v1/topics');
 */
import { type Command, InvalidArgumentError, Option } from 'commander';

export const DEFAULT_URL = 'http://127.0.0.1:7700';
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** An error the CLI reports as `error: <message>` and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_RUNTIME,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The server could not be reached or the connection broke: worth a retry for long-running commands. */
export class NetworkError extends CliError {
  constructor(message: string) {
    super(message, EXIT_RUNTIME);
    this.name = 'NetworkError';
  }
}

/** Adds `--url` (env `TRIBUTARY_URL`, default {@link DEFAULT_URL}) to a client command. */
export function addUrlOption(command: Command): Command {
  return command.addOption(
    new Option('--url <url>', 'URL of the Tributary server')
      .env('TRIBUTARY_URL')
      .default(DEFAULT_URL)
      .argParser(parseUrl),
  );
}

export function parseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new InvalidArgumentError('The URL must look like http://host:port, e.g. http://127.0.0.1:7700.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('The URL must start with http:// or https://.');
  }
  return url.href.replace(/\/+$/, '');
}

/** A positive or non-negative integer option value (commander argParser). */
export function intParser(min: number, what: string): (value: string) => number {
  return (value) => {
    const n = /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!(n >= min)) throw new InvalidArgumentError(`${what} must be an integer ≥ ${min}.`);
    return n;
  };
}

/**
 * Adds the options that describe a topic's durability, retention and compaction (`--fsync`,
 * `--retention-ms`, `--retention-bytes`, `--compact`): one spelling for `topics create` and
 * `data rebuild-metadata`.
 */
export function addTopicConfigOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--fsync <policy>', 'when a write counts as durable (default interval)').choices([
        'always',
        'interval',
        'never',
      ]),
    )
    .option('--retention-ms <ms>', 'delete data older than this', intParser(1, 'The retention'))
    .option('--retention-bytes <n>', 'keep each partition to about this size', intParser(1, 'The size'))
    .option('--compact', 'keep only the latest record per key');
}

/** The server's JSON error body. */
interface ErrorBody {
  readonly error?: { readonly code?: string; readonly message?: string };
}

/** Calls the API; resolves with the parsed JSON (undefined for 204), throws {@link CliError}. */
export async function apiRequest<T>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await apiFetch(baseUrl, path, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (response.status === 204) return undefined as T;
  return (await readJson(response, baseUrl)) as T;
}

/** `fetch` that turns network failures and error answers into {@link CliError}. */
export async function apiFetch(baseUrl: string, path: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${path}`, init);
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new NetworkError(`Cannot reach the Tributary server at ${baseUrl}: ${networkReason(error)}`);
  }
  if (!response.ok) await throwServerError(response, baseUrl);
  return response;
}

async function throwServerError(response: Response, baseUrl: string): Promise<never> {
  const text = await response.text().catch(() => '');
  let body: ErrorBody | undefined;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    body = undefined;
  }
  if (body?.error?.code !== undefined) {
    throw new CliError(`${body.error.code}: ${body.error.message ?? '(no message)'}`);
  }
  throw new CliError(
    `Unexpected answer from ${baseUrl}: HTTP ${response.status} ${response.statusText} (is this a Tributary server?)`,
  );
}

async function readJson(response: Response, baseUrl: string): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`Unexpected answer from ${baseUrl}: not JSON (is this a Tributary server?)`);
  }
}

/** The most useful words about a fetch failure: the system error code when there is one. */
export function networkReason(error: unknown): string {
  let cause: unknown = error;
  for (let depth = 0; depth < 5 && cause instanceof Error; depth++) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (typeof code === 'string') {
      return `${describeCode(code)} (${code})`;
    }
    if (cause.cause === undefined) break;
    cause = cause.cause;
  }
  return cause instanceof Error ? cause.message : String(cause);
}

function describeCode(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is `tributary serve` running there?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name could not be resolved';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'the connection timed out';
    default:
      return 'network error';
  }
}
