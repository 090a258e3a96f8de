#!/usr/bin/env node
/**
 * @module cli/main
 * The `tributary` command line (the package's `bin`). One file per command under `commands/`:
 * `serve` runs the server; `topics`, `produce`, `consume`, `connectors` and `pipelines` talk to one over its HTTP API
 * (`--url`, env `TRIBUTARY_URL`, default http://127.0.0.1:7700); `data` checks and repairs a
 * data directory offline; `auth` edits and checks the auth file.
 *
 * Exit codes: 0 success, 1 runtime failure (the server's error code and message are printed, or
 * why it could not be reached), 2 bad usage (unknown command or option, invalid value in a flag,
 * environment variable, config file or auth file), 3 the server refused the credentials (401:
 * `UNAUTHENTICATED`, `TOKEN_EXPIRED`, `ACCESS_REVOKED`) or the operation (403: `…_ACCESS_DENIED`).
 *
 * Credentials (cli/credentials.ts): `--token`, `--api-key`, `--user` with `--password-stdin`, or
 * TRIBUTARY_TOKEN, TRIBUTARY_API_KEY, TRIBUTARY_USER and TRIBUTARY_PASSWORD.
 *
 * @example
 * tributary serve --data ./data
 * tributary topics create orders --partitions 3 --fsync always
 * echo '{"qty":2}' | tributary produce orders
 * tributary consume orders --from earliest --max 1
 * tributary connectors list
 * tributary pipelines list
 * tributary data verify --data ./data
 * tributary auth add-user alice --file auth.json --password-stdin
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CliError, EXIT_RUNTIME, EXIT_USAGE } from './api.js';

type Register = (program: Command) => void;

/**
 * Every command's module, in the order `--help` lists them. Only the command given is loaded
 * (all of them for `--help`, an unknown command or none): `serve` does not load the processing
 * modules `pipelines` uses, nor the client commands their own.
 */
const COMMANDS: readonly (readonly [string, () => Promise<Register>])[] = [
  ['serve', async () => (await import('./commands/serve.js')).registerServeCommand],
  ['topics', async () => (await import('./commands/topics.js')).registerTopicsCommand],
  ['produce', async () => (await import('./commands/produce.js')).registerProduceCommand],
  ['consume', async () => (await import('./commands/consume.js')).registerConsumeCommand],
  ['connectors', async () => (await import('./commands/connectors.js')).registerConnectorsCommand],
  ['pipelines', async () => (await import('./commands/pipelines.js')).registerPipelinesCommand],
  ['data', async () => (await import('./commands/data.js')).registerDataCommand],
  ['auth', async () => (await import('./commands/auth.js')).registerAuthCommand],
];

function packageVersion(): string {
  // ../../package.json from both src/cli/main.ts and dist/cli/main.js.
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('tributary')
    .description('Real-time data sync: a durable, ordered, partitioned change log with live delivery.')
    .addHelpText(
      'after',
      '\nClient commands authenticate with --token, --api-key or --user with --password-stdin\n' +
        '(env TRIBUTARY_TOKEN, TRIBUTARY_API_KEY, TRIBUTARY_USER, TRIBUTARY_PASSWORD).\n' +
        'Exit codes: 0 ok, 1 server or network error, 2 bad usage, 3 credentials refused (401) or operation denied (403).',
    )
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const named = COMMANDS.filter(([name]) => name === argv[2]);
  const registers = await Promise.all((named.length === 1 ? named : COMMANDS).map(([, load]) => load()));
  for (const register of registers) register(program);
  // Subcommands inherit exitOverride and showHelpAfterError only when set before they are added.
  for (const command of allCommands(program)) {
    command.exitOverride().showHelpAfterError('(run with --help for usage)');
  }

  let invoked = '';
  program.hook('preAction', (_program, action) => {
    invoked = action.name();
  });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has already printed the message (or the help / version).
      return exitAfterOutput(error.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n`);
      return exitAfterOutput(error.exitCode);
    }
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitAfterOutput(EXIT_RUNTIME);
  }
  // `serve` keeps running until a signal; every other command is done here.
  if (invoked !== 'serve') await exitAfterOutput(0);
}

/**
 * Exits once stdout and stderr have handed everything to the OS: `process.exit` alone can cut
 * off output still queued for a pipe (a consumer piping thousands of records would lose the tail).
 * Exiting at all is needed because keep-alive sockets would otherwise hold the process open.
 */
async function exitAfterOutput(code: number): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((child) => [child, ...allCommands(child)]);
}

await main(process.argv);
