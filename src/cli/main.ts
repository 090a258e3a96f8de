#!/usr/bin/env node
/**
 * @module cli/main
 * The `tributary` command line (the package's `bin`). One file per command under `commands/`.
 *
 * Exit codes: 0 success, 1 runtime failure, 2 bad usage (unknown command or option, invalid
 * value in a flag or environment variable).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { type Logger, pino } from 'pino';
import { registerServeCommand } from './commands/serve.js';

const EXIT_USAGE = 2;

function packageVersion(): string {
  // ../../package.json from both src/cli/main.ts and dist/cli/main.js.
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** Plain pino JSON lines on stdout, written synchronously so nothing is lost on `process.exit`. */
function createLogger(): Logger {
  const level = process.env.TRIBUTARY_LOG_LEVEL?.trim() || 'info';
  const levels = [...Object.keys(pino.levels.values), 'silent'];
  if (!levels.includes(level)) {
    process.stderr.write(
      `error: TRIBUTARY_LOG_LEVEL is "${level}"; it must be one of ${levels.join(', ')}\n`,
    );
    process.exit(EXIT_USAGE);
  }
  return pino({ name: 'tributary', level }, pino.destination({ dest: 1, sync: true }));
}

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('tributary')
    .description('Real-time data sync: a durable, ordered, partitioned change log with live delivery.')
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServeCommand(program, createLogger());

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has already printed the message (or the help / version).
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    throw error;
  }
}

await main(process.argv);
