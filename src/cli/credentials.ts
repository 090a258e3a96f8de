/**
 * @module cli/credentials
 * The one place the CLI turns credential flags and environment variables into what it sends: an
 * `Authorization` header on HTTP (`Bearer` for a token or an API key, `Basic` for a user and
 * password) and the `auth` of the WebSocket `hello` (through the SDK's `auth` option). Every
 * command that talks to a server gets these options from {@link addCredentialOptions}.
 *
 * Sources, one kind at a time (two kinds given is a usage error; flags win over the environment):
 * - `--token T` / `TRIBUTARY_TOKEN`: a JWT.
 * - `--api-key K` / `TRIBUTARY_API_KEY`.
 * - `--user U` / `TRIBUTARY_USER`, with the password from `--password-stdin` (the first line of
 *   stdin; `produce` reads its records from the lines after it) or `TRIBUTARY_PASSWORD`.
 * There is no `--password` flag: a command line is visible to every user of the machine (`ps`).
 * Secrets are never printed, not even in error messages.
 *
 * @example
 * tributary topics list --token "$(get-token)"
 * printf '%s\n' "$PASSWORD" | tributary topics list --user alice --password-stdin
 * TRIBUTARY_API_KEY=trb_… tributary consume orders
 */
import { createInterface } from 'node:readline';
import { type Command, Option } from 'commander';
import type { ClientAuth } from '../client/auth.js';

/** Credentials the CLI presents (the same three kinds as the server's `Credentials`). */
export type CliCredentials =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'apiKey'; readonly key: string }
  | { readonly kind: 'password'; readonly username: string; readonly password: string };

/** Options commander collects from {@link addCredentialOptions}. */
export interface CredentialFlags {
  readonly token?: string;
  readonly apiKey?: string;
  readonly user?: string;
  readonly passwordStdin?: boolean;
}

/** A credential given wrongly (two kinds, a user without a password, …): exit 2. */
export class CredentialUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialUsageError';
  }
}

/** Adds `--token`, `--api-key`, `--user` and `--password-stdin` to a command that talks to a server. */
export function addCredentialOptions(command: Command): Command {
  return command
    .addOption(new Option('--token <jwt>', 'authenticate with this token (env TRIBUTARY_TOKEN)'))
    .addOption(new Option('--api-key <key>', 'authenticate with this API key (env TRIBUTARY_API_KEY)'))
    .addOption(new Option('--user <name>', 'authenticate as this user (env TRIBUTARY_USER)'))
    .addOption(
      new Option(
        '--password-stdin',
        "read the user's password from the first line of stdin (else env TRIBUTARY_PASSWORD)",
      ),
    );
}

/**
 * The credentials of a command from its flags, else from the environment; undefined when none
 * are given (the server then treats the client as anonymous, or as `local` with security off).
 * `readPassword` is called only for `--password-stdin`.
 */
export async function resolveCredentials(
  flags: CredentialFlags,
  env: Readonly<Record<string, string | undefined>> = process.env,
  readPassword: () => Promise<string | undefined> = readPasswordLine,
): Promise<CliCredentials | undefined> {
  const fromFlags = pick(flags.token, flags.apiKey, flags.user, '--token, --api-key and --user');
  if (flags.passwordStdin === true && flags.user === undefined && env.TRIBUTARY_USER === undefined) {
    throw new CredentialUsageError('--password-stdin needs --user (or TRIBUTARY_USER).');
  }
  const chosen =
    fromFlags ??
    pick(
      nonEmpty(env.TRIBUTARY_TOKEN),
      nonEmpty(env.TRIBUTARY_API_KEY),
      nonEmpty(env.TRIBUTARY_USER),
      'TRIBUTARY_TOKEN, TRIBUTARY_API_KEY and TRIBUTARY_USER',
    );
  if (chosen === undefined) return undefined;
  if (chosen.kind === 'token') return { kind: 'token', token: checked(chosen.value, 'The token') };
  if (chosen.kind === 'apiKey') return { kind: 'apiKey', key: checked(chosen.value, 'The API key') };
  const username = chosen.value;
  if (username.includes(':')) throw new CredentialUsageError('A user name must not contain ":".');
  const password = flags.passwordStdin === true ? await readPassword() : nonEmpty(env.TRIBUTARY_PASSWORD);
  if (password === undefined || password === '') {
    throw new CredentialUsageError(
      flags.passwordStdin === true
        ? '--password-stdin: stdin had no password line.'
        : `A password is needed for user "${username}": use --password-stdin or TRIBUTARY_PASSWORD.`,
    );
  }
  return { kind: 'password', username, password };
}

/** The HTTP `Authorization` header value for `credentials`. */
export function authorizationHeader(credentials: CliCredentials): string {
  switch (credentials.kind) {
    case 'token':
      return `Bearer ${credentials.token}`;
    case 'apiKey':
      return `Bearer ${credentials.key}`;
    case 'password':
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
  }
}

/** The SDK's `auth` option (sent in the WebSocket `hello`) for `credentials`. */
export function sdkAuth(credentials: CliCredentials): ClientAuth {
  switch (credentials.kind) {
    case 'token':
      return { token: credentials.token };
    case 'apiKey':
      return { apiKey: credentials.key };
    case 'password':
      return { username: credentials.username, password: credentials.password };
  }
}

/** What to tell the user about their credentials (never the secret itself). */
export function describeCredentials(credentials: CliCredentials | undefined): string {
  if (credentials === undefined) return 'no credentials';
  if (credentials.kind === 'password') return `user "${credentials.username}"`;
  return credentials.kind === 'token' ? 'the token given' : 'the API key given';
}

type Chosen = { readonly kind: 'token' | 'apiKey' | 'user'; readonly value: string };

function pick(
  token: string | undefined,
  apiKey: string | undefined,
  user: string | undefined,
  names: string,
): Chosen | undefined {
  const given: Chosen[] = [];
  if (token !== undefined) given.push({ kind: 'token', value: token });
  if (apiKey !== undefined) given.push({ kind: 'apiKey', value: apiKey });
  if (user !== undefined) given.push({ kind: 'user', value: user });
  if (given.length > 1) throw new CredentialUsageError(`Give only one of ${names}.`);
  return given[0];
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Refuses values a header cannot carry (a pasted newline would split the request). */
function checked(value: string, what: string): string {
  const trimmed = value.trim();
  const unsafe = [...trimmed].some(
    (char) => char.trim() === '' || char.charCodeAt(0) < 0x20 || char === '\u007f',
  );
  if (trimmed === '' || unsafe) {
    throw new CredentialUsageError(`${what} is empty or contains spaces or control characters.`);
  }
  return trimmed;
}

let stdinLineIterator: AsyncIterator<string> | undefined;

/**
 * Stdin as lines, shared: `--password-stdin` takes the first one and `produce` the rest (two
 * readers of their own would each buffer ahead and lose the other's lines).
 */
export function stdinLines(): AsyncIterator<string> {
  stdinLineIterator ??= createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })[
    Symbol.asyncIterator
  ]();
  return stdinLineIterator;
}

async function readPasswordLine(): Promise<string | undefined> {
  const next = await stdinLines().next();
  return next.done === true ? undefined : next.value;
}
