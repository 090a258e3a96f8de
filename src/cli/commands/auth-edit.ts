/**
 * @module cli/commands/auth-edit
 * The edits and checks of `tributary auth` (`auth.ts` registers the subcommands): read the auth
 * file, refuse one that is not valid, check the result, replace the file atomically.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { apiKeyHash, generateApiKey } from '../../server/auth/api-keys.js';
import {
  AUTH_FILE_BYTES_MAX,
  type AuthConfig,
  AuthFileError,
  loadAuthFile,
  parseAuthFile,
  principalNameProblem,
} from '../../server/auth/auth-file.js';
import { createJwtVerifier } from '../../server/auth/jwt.js';
import {
  deriveScramCredential,
  hashPassword,
  SCRAM_ITERATIONS_DEFAULT,
  SCRAM_ITERATIONS_MAX,
  SCRAM_MECHANISMS,
  scramCredentialJson,
} from '../../server/auth/passwords.js';
import { CliError, EXIT_RUNTIME, EXIT_USAGE } from '../api.js';
import { AUTH_FILE_ENV, type FileOption } from './auth.js';

/** Longest password read from stdin or a prompt. */
const PASSWORD_BYTES_MAX = 1024;

type Json = Record<string, unknown>;

export async function removeUserCommand(name: string, options: FileOption): Promise<void> {
  await editFile(options, (document) => {
    const users = objectAt(document, 'users');
    if (!Object.hasOwn(users, name)) throw new CliError(`No user "${name}" in the auth file`, EXIT_RUNTIME);
    delete users[name];
    return `Removed user ${name}`;
  });
}

export async function revokeKeyCommand(id: string, options: FileOption): Promise<void> {
  await editFile(options, (document) => {
    const keys = arrayAt(document, 'apiKeys');
    const index = keys.findIndex((k) => (k as Json).id === id);
    if (index < 0) throw new CliError(`No API key with id "${id}" in the auth file`, EXIT_RUNTIME);
    keys.splice(index, 1);
    return `Revoked API key ${id}`;
  });
}

export async function checkCommand(options: FileOption): Promise<void> {
  const path = requireFile(options);
  let config: AuthConfig;
  try {
    config = await loadAuthFile(path);
    if (config.jwt !== null) await createJwtVerifier(config.jwt, { file: config.path });
  } catch (error) {
    if (error instanceof AuthFileError) throw new CliError(error.message, EXIT_USAGE);
    throw error;
  }
  process.stdout.write(summary(config));
}

export async function initCommand(file: string): Promise<void> {
  const path = resolve(file);
  const document = { users: {}, apiKeys: [], anonymous: false, superUsers: [], acls: [] };
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_EXCL: never overwrite an existing auth file.
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CliError(`${path} exists; not overwritten`, EXIT_RUNTIME);
    throw new CliError(`Cannot create ${path}: ${(error as Error).message}`, EXIT_RUNTIME);
  }
  try {
    await handle.writeFile(`${JSON.stringify(document, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  process.stderr.write(`Created ${path}\n`);
}

export async function addUserCommand(
  name: string,
  options: FileOption & { passwordStdin?: boolean; replace?: boolean; scramIterations?: number },
): Promise<void> {
  const problem = principalNameProblem(name);
  if (problem !== undefined) throw new CliError(`Invalid user name: ${problem}`, EXIT_USAGE);
  const iterations = options.scramIterations ?? SCRAM_ITERATIONS_DEFAULT;
  if (iterations > SCRAM_ITERATIONS_MAX) {
    throw new CliError(`--scram-iterations must be at most ${SCRAM_ITERATIONS_MAX}`, EXIT_USAGE);
  }
  // Check the file before asking for a password.
  const path = requireFile(options);
  const exists = Object.hasOwn(objectAt((await readDocument(path)).document, 'users'), name);
  if (exists && options.replace !== true) {
    throw new CliError(`User "${name}" exists (use --replace to change its password)`, EXIT_RUNTIME);
  }
  const password = options.passwordStdin === true ? await passwordFromStdin() : await promptPassword(name);
  const entry = {
    password: await hashPassword(password),
    scram: Object.fromEntries(
      SCRAM_MECHANISMS.map((m) => [
        m,
        scramCredentialJson(deriveScramCredential(password, m, { iterations })),
      ]),
    ),
  };
  await editFile(options, (document) => {
    const users = objectAt(document, 'users');
    const replaced = Object.hasOwn(users, name);
    if (replaced && options.replace !== true) throw new CliError(`User "${name}" exists`, EXIT_RUNTIME);
    users[name] = entry;
    return `${replaced ? 'Replaced the credentials of' : 'Added'} user ${name} (password, ${SCRAM_MECHANISMS.join(', ')})`;
  });
}

export async function addKeyCommand(principal: string, options: FileOption & { id?: string }): Promise<void> {
  const problem = principalNameProblem(principal);
  if (problem !== undefined) throw new CliError(`Invalid principal: ${problem}`, EXIT_USAGE);
  const date = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const id = options.id ?? `${principal}-${date}-${randomBytes(3).toString('hex')}`;
  if (id.length === 0) throw new CliError('--id must not be empty', EXIT_USAGE);
  const key = generateApiKey();
  await editFile(options, (document) => {
    const keys = arrayAt(document, 'apiKeys');
    if (keys.some((k) => (k as Json).id === id))
      throw new CliError(`An API key with id "${id}" exists`, EXIT_RUNTIME);
    keys.push({ principal, id, sha256: apiKeyHash(key) });
    return `Added API key ${id} for ${principal}; it is shown once, store it now`;
  });
  // Alone on stdout, so `KEY=$(tributary auth add-key …)` works.
  process.stdout.write(`${key}\n`);
}

function requireFile(options: FileOption): string {
  if (options.file === undefined || options.file === '') {
    throw new CliError(`Name the auth file with --file or ${AUTH_FILE_ENV}`, EXIT_USAGE);
  }
  return resolve(options.file);
}

async function readDocument(path: string): Promise<{ document: Json; mode: number }> {
  let text: string;
  let mode: number;
  try {
    const info = await stat(path);
    if (info.size > AUTH_FILE_BYTES_MAX)
      throw new CliError(`${path} is larger than ${AUTH_FILE_BYTES_MAX} bytes`);
    mode = info.mode & 0o777;
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`Cannot read ${path}: ${(error as Error).message}`, EXIT_RUNTIME);
  }
  try {
    parseAuthFile(text, path);
  } catch (error) {
    if (error instanceof AuthFileError) throw new CliError(`${error.message} (not changed)`, EXIT_USAGE);
    throw error;
  }
  return { document: JSON.parse(text) as Json, mode };
}

/** Reads and checks the file, applies `edit`, checks the result and replaces the file atomically. */
async function editFile(options: FileOption, edit: (document: Json) => string): Promise<void> {
  const path = requireFile(options);
  const { document, mode } = await readDocument(path);
  const message = edit(document);
  const text = `${JSON.stringify(document, null, 2)}\n`;
  parseAuthFile(text, path); // An edit that made the file invalid is a bug: throw before writing.
  await writeAtomic(path, text, mode);
  process.stderr.write(`${message}\n`);
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw new CliError(`Cannot write ${path}: ${(error as Error).message}`, EXIT_RUNTIME);
  }
  // The rename itself reaches the disk with the directory.
  const dir = await open(dirname(path), 'r').catch(() => undefined);
  await dir?.sync().catch(() => undefined);
  await dir?.close();
}

function objectAt(document: Json, key: string): Json {
  if (document[key] === undefined) document[key] = {};
  return document[key] as Json;
}

function arrayAt(document: Json, key: string): unknown[] {
  if (document[key] === undefined) document[key] = [];
  return document[key] as unknown[];
}

async function passwordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    if (bytes > PASSWORD_BYTES_MAX + 2)
      throw new CliError(`The password is longer than ${PASSWORD_BYTES_MAX} bytes`);
    chunks.push(buffer);
  }
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  return checkedPassword(password);
}

function checkedPassword(password: string): string {
  if (password.length === 0) throw new CliError('The password is empty', EXIT_USAGE);
  if (Buffer.byteLength(password) > PASSWORD_BYTES_MAX) {
    throw new CliError(`The password is longer than ${PASSWORD_BYTES_MAX} bytes`, EXIT_USAGE);
  }
  if (/[\r\n]/.test(password)) throw new CliError('The password must be one line', EXIT_USAGE);
  return password;
}

async function promptPassword(name: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new CliError(
      'No terminal to ask for the password: pass it on stdin with --password-stdin',
      EXIT_USAGE,
    );
  }
  const first = await readHidden(`Password for ${name}: `);
  const second = await readHidden('Again: ');
  if (first !== second) throw new CliError('The passwords differ', EXIT_USAGE);
  return checkedPassword(first);
}

/** Reads one line from the terminal without echoing it. */
function readHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const done = (error?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error === undefined) resolvePromise(text);
      else reject(error);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          done();
          return;
        }
        if (char === '\u0003' || char === '\u0004') {
          done(new CliError('Cancelled', EXIT_RUNTIME));
          return;
        }
        if (char === '\u007f' || char === '\b') text = text.slice(0, -1);
        else text += char;
      }
    };
    stdin.on('data', onData);
  });
}

function summary(config: AuthConfig): string {
  const lines = [`${config.path}: valid`];
  const users = [...config.users.values()].map((u) => {
    const methods = [...(u.password === undefined ? [] : ['password']), ...Object.keys(u.scram)];
    return `  ${u.name} (${methods.join(', ')})`;
  });
  lines.push(`users: ${config.users.size}`, ...users);
  lines.push(
    `API keys: ${config.apiKeys.length}`,
    ...config.apiKeys.map((k) => `  ${k.id} → ${k.principal}`),
  );
  if (config.jwt === null) lines.push('JWT: off');
  else {
    const jwt = config.jwt;
    const sources = [
      ...jwt.loadedKeys.map((k) => `${k.alg}${k.kid === undefined ? '' : ` (kid ${k.kid})`}`),
      ...(jwt.jwksFile === undefined
        ? []
        : [`JWKS file ${jwt.jwksFile} (${jwt.jwks?.keys.length ?? 0} keys)`]),
      ...(jwt.jwksUrl === undefined ? [] : [`JWKS URL ${jwt.jwksUrl}`]),
    ];
    lines.push(
      `JWT: ${sources.join(', ')}`,
      `  issuer ${jwt.issuer ?? '(any)'}, audience ${jwt.audience === undefined ? '(any)' : [jwt.audience].flat().join(', ')}`,
      `  principal claim ${jwt.principalClaim}, permissions claim ${jwt.permissionsClaim}, clock tolerance ${jwt.clockToleranceSec} s`,
    );
  }
  lines.push(`anonymous: ${config.anonymous ? 'on' : 'off'}`);
  lines.push(`super users: ${config.superUsers.length === 0 ? '(none)' : config.superUsers.join(', ')}`);
  lines.push(
    `ACL rules: ${config.acls.length} (${config.acls.filter((r) => r.effect === 'deny').length} deny)`,
  );
  lines.push(`quota entries: ${config.quotas.entries.size}`);
  return `${lines.join('\n')}\n`;
}
