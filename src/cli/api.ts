/**
 * @module cli/api
 * What the client commands share: the server options (`--url` and the credentials of
 * cli/credentials.ts), calls to the HTTP API with global `fetch` carrying the `Authorization`
 * header, and {@link CliError}, which carries the exit code (1 runtime or server error, 2 usage,
 * 3 credentials refused (401) or operation denied (403)).
 *
 * For an `https://` server whose certificate a private CA signed, or one that asks for client
 * certificates, `--ca`, `--cert` and `--key` (env `TRIBUTARY_CLIENT_CA`, `TRIBUTARY_CLIENT_CERT`,
 * `TRIBUTARY_CLIENT_KEY`) name PEM files; calls then go through undici's `fetch` with an agent
 * holding them (Node's global `fetch` takes no TLS options). Without them nothing changes.
 *
 * @example
 * const topics = await apiRequest<{ topics: TopicDescription[] }>(options.server, 'GET', '/v1/topics');
 */
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  addCredentialOptions,
  authorizationHeader,
  type CliCredentials,
  type CredentialFlags,
  CredentialUsageError,
  describeCredentials,
  resolveCredentials,
} from './credentials.js';

export const DEFAULT_URL = 'http://127.0.0.1:7700';
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
/** The server refused the credentials (401) or the operation (403). */
export const EXIT_AUTH = 3;

/** Where a client command sends its requests, and as whom. */
export interface ServerTarget {
  /** The HTTP base URL (no trailing slash). */
  readonly url: string;
  readonly credentials: CliCredentials | undefined;
  /** TLS material for an https:// server (`--ca`, `--cert`, `--key`); absent: Node's defaults. */
  readonly tls?: ClientTls;
}

/** PEM contents given by `--ca`, `--cert`, `--key`, and the `fetch` that uses them. */
export interface ClientTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** undici's `fetch` through an agent holding the material. */
  readonly fetch: (input: string, init?: RequestInit) => Promise<Response>;
}

/** The TLS flags as commander parses them. */
export interface TlsFlags {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** What a command given {@link addUrlOption} finds in its options. */
export interface ServerOptions {
  readonly url: string;
  /** Set before the command's action runs (from `--url` and the credential options). */
  readonly server: ServerTarget;
}

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

/**
 * Adds the server options to a client command: `--url` (env `TRIBUTARY_URL`, default
 * {@link DEFAULT_URL}) and the credentials (`--token`, `--api-key`, `--user`,
 * `--password-stdin`; cli/credentials.ts). Before the action runs they are resolved into
 * `options.server` ({@link ServerTarget}).
 */
export function addUrlOption(command: Command): Command {
  command.addOption(
    new Option('--url <url>', 'URL of the Tributary server')
      .env('TRIBUTARY_URL')
      .default(DEFAULT_URL)
      .argParser(parseUrl),
  );
  addCredentialOptions(command);
  addTlsOptions(command);
  return command.hook('preAction', async (_command, action) => {
    const options = action.opts<CredentialFlags & TlsFlags & { url: string }>();
    const tls = readClientTls(options);
    let credentials: CliCredentials | undefined;
    try {
      credentials = await resolveCredentials(options);
    } catch (error) {
      if (error instanceof CredentialUsageError) throw new CliError(error.message, EXIT_USAGE);
      throw error;
    }
    action.setOptionValue('server', {
      url: options.url,
      credentials,
      ...(tls === undefined ? {} : { tls }),
    } satisfies ServerTarget);
  });
}

function addTlsOptions(command: Command): void {
  command
    .addOption(
      new Option('--ca <file>', 'PEM certificate authorities to trust for an https:// server').env(
        'TRIBUTARY_CLIENT_CA',
      ),
    )
    .addOption(
      new Option('--cert <file>', 'PEM client certificate, for servers that ask for one').env(
        'TRIBUTARY_CLIENT_CERT',
      ),
    )
    .addOption(new Option('--key <file>', 'PEM private key of --cert').env('TRIBUTARY_CLIENT_KEY'));
}

/** Reads the TLS files (a usage error naming an unreadable one); undefined when none is given. */
export function readClientTls(flags: TlsFlags): ClientTls | undefined {
  if (flags.cert === undefined && flags.key !== undefined)
    throw new CliError('--key needs --cert (the certificate it belongs to).', EXIT_USAGE);
  if (flags.cert !== undefined && flags.key === undefined)
    throw new CliError('--cert needs --key (its private key).', EXIT_USAGE);
  const read = (flag: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw new CliError(`Cannot read ${flag} file ${file}: ${(error as Error).message}`, EXIT_USAGE);
    }
  };
  const ca = read('--ca', flags.ca);
  const cert = read('--cert', flags.cert);
  const key = read('--key', flags.key);
  if (ca === undefined && cert === undefined) return undefined;
  const material = { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
  // undici loads on the first call: commands without TLS flags (most) never pay for it.
  const undici = import('undici').then(({ Agent, fetch }) => ({
    fetch,
    dispatcher: new Agent({ connect: { ...material } }),
  }));
  const tlsFetch = (input: string, init?: RequestInit): Promise<Response> =>
    new Promise((resolve, reject) => {
      // undici can lose a request whose connection the server closes just after the TLS 1.3
      // handshake (how a refused client certificate is told): nothing is left to settle the
      // promise and Node would exit 13 in silence. When the event loop runs dry, it is settled.
      const orphaned = (): void =>
        reject(Object.assign(new Error('the connection was closed'), { code: 'ECONNRESET' }));
      process.once('beforeExit', orphaned);
      undici
        .then(({ fetch, dispatcher }) =>
          fetch(input, { ...(init as Parameters<typeof fetch>[1]), dispatcher }),
        )
        .then((response) => resolve(response as unknown as Response), reject)
        .finally(() => process.off('beforeExit', orphaned));
    });
  return { ...material, fetch: tlsFetch };
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
  server: ServerTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await apiFetch(server, path, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (response.status === 204) return undefined as T;
  return (await readJson(response, server.url)) as T;
}

/**
 * `fetch` with the server's credentials (`Authorization` header), turning network failures and
 * error answers into {@link CliError}.
 */
export async function apiFetch(
  server: ServerTarget,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const baseUrl = server.url;
  const headers = new Headers(init.headers);
  if (server.credentials !== undefined) headers.set('authorization', authorizationHeader(server.credentials));
  let response: Response;
  try {
    response = await (server.tls?.fetch ?? fetch)(`${baseUrl}${path}`, { ...init, headers });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new NetworkError(`Cannot reach the Tributary server at ${baseUrl}: ${networkReason(error)}`);
  }
  if (!response.ok) await throwServerError(response, server);
  return response;
}

/**
 * The error for a refused credential or operation (exit {@link EXIT_AUTH}), with a hint on how
 * to give credentials; never the secret itself.
 */
export function authError(
  code: string,
  message: string,
  status: 401 | 403,
  credentials: CliCredentials | undefined,
): CliError {
  const hint =
    status === 403
      ? `the server knows ${describeCredentials(credentials)} but its rules do not allow this`
      : credentials === undefined
        ? 'this server needs credentials: --token, --api-key or --user with --password-stdin (or TRIBUTARY_TOKEN, TRIBUTARY_API_KEY, TRIBUTARY_USER and TRIBUTARY_PASSWORD)'
        : `the server refused ${describeCredentials(credentials)}`;
  return new CliError(`${code}: ${message}\n(${hint})`, EXIT_AUTH);
}

async function throwServerError(response: Response, server: ServerTarget): Promise<never> {
  const baseUrl = server.url;
  const text = await response.text().catch(() => '');
  let body: ErrorBody | undefined;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    body = undefined;
  }
  if (response.status === 401 || response.status === 403) {
    throw authError(
      body?.error?.code ?? (response.status === 401 ? 'UNAUTHENTICATED' : 'ACCESS_DENIED'),
      body?.error?.message ?? `HTTP ${response.status} ${response.statusText}`,
      response.status,
      server.credentials,
    );
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
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return "the server's TLS certificate is not trusted (give the CA that signed it with --ca)";
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return 'the TLS handshake failed (http:// or https://? a client certificate needed: --cert/--key?)';
    default:
      return 'network error';
  }
}
