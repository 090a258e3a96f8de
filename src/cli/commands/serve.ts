/**
 * @module cli/commands/serve
 * `tributary serve`: runs the server until SIGTERM or SIGINT, then shuts down gracefully
 * (stop accepting, close the log with flush + fsync) and exits 0.
 *
 * Exit codes: 0 after a graceful shutdown, 1 when the server cannot start (port in use, data
 * directory unusable, …), 2 for bad usage (reported by commander before anything starts).
 */
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import { isTributaryError } from '../../errors.js';
import { ListenError, startServer } from '../../server/server.js';

export const SERVE_DEFAULTS = { data: './data', port: 7700, host: '127.0.0.1' } as const;

interface ServeOptions {
  readonly data: string;
  readonly port: number;
  readonly host: string;
}

/** Adds `serve` to the program; `logger` is where the server logs (JSON lines on stdout in the CLI). */
export function registerServeCommand(program: Command, logger: Logger): void {
  program
    .command('serve')
    .description('Run the Tributary server: the file log on --data, HTTP on --host:--port.')
    .addOption(
      new Option('-d, --data <dir>', 'data directory (created if missing)')
        .env('TRIBUTARY_DATA')
        .default(SERVE_DEFAULTS.data)
        .argParser(parseDataDir),
    )
    .addOption(
      new Option('-p, --port <n>', 'TCP port, 0 for any free port')
        .env('TRIBUTARY_PORT')
        .default(SERVE_DEFAULTS.port)
        .argParser(parsePort),
    )
    .addOption(
      new Option('-H, --host <host>', 'address to listen on; 0.0.0.0 for all interfaces')
        .env('TRIBUTARY_HOST')
        .default(SERVE_DEFAULTS.host)
        .argParser(parseHost),
    )
    .addHelpText(
      'after',
      '\nFlags win over environment variables. Log level: TRIBUTARY_LOG_LEVEL (default info).',
    )
    .action(async (options: ServeOptions) => {
      await serve(options, logger);
    });
}

async function serve(options: ServeOptions, logger: Logger): Promise<void> {
  const dataDir = resolve(options.data);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ dataDir, port: options.port, host: options.host, logger });
  } catch (error) {
    logger.error(startFailureMessage(error, dataDir));
    process.exit(1);
  }
  logger.info(
    { url: server.url, port: server.port, host: options.host, dataDir },
    `Tributary listening on ${server.url} (data: ${dataDir})`,
  );

  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      logger.warn({ signal }, `Received ${signal} again during shutdown; exiting now`);
      process.exit(1);
    }
    shuttingDown = true;
    logger.info({ signal }, `Received ${signal}; shutting down`);
    server.close().then(
      () => {
        logger.info('Tributary stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, `Shutdown failed: ${errorMessage(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function startFailureMessage(error: unknown, dataDir: string): string {
  if (error instanceof ListenError) return error.message;
  if (isTributaryError(error)) return `Cannot open the log in ${dataDir}: ${error.message}`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('E')) {
    return `Cannot use data directory ${dataDir}: ${errorMessage(error)}`;
  }
  return `Tributary failed to start: ${errorMessage(error)}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function parsePort(value: string): number {
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new InvalidArgumentError('The port must be an integer from 0 to 65535.');
  }
  return port;
}

export function parseHost(value: string): string {
  const host = value.trim();
  if (host === '' || /[\s/]/.test(host)) {
    throw new InvalidArgumentError('The host must be a host name or an IP address, e.g. 127.0.0.1.');
  }
  return host;
}

export function parseDataDir(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('The data directory must not be empty.');
  if (value.includes('\0')) throw new InvalidArgumentError('The data directory contains a NUL byte.');
  return value;
}
