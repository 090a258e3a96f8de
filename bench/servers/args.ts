/**
 * @module bench/servers/args
 * `--port N [--host H]` for the peer servers the harness starts as child processes. The host
 * defaults to 127.0.0.1 and must be a loopback address.
 */
export interface ListenArgs {
  readonly port: number;
  readonly host: string;
}

export function parseListenArgs(argv: readonly string[]): ListenArgs {
  const value = (flag: string): string | undefined => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const port = Number(value('--port'));
  const host = value('--host') ?? '127.0.0.1';
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) throw new Error('--port N is required');
  if (!host.startsWith('127.') && host !== '::1' && host !== 'localhost') {
    throw new Error(`--host must be a loopback address, got ${host}`);
  }
  return { port, host };
}

/** Exits 0 on SIGTERM / SIGINT after `close` (at most 2 s). */
export function exitOnSignal(close: () => Promise<void> | void): void {
  const stop = (): void => {
    setTimeout(() => process.exit(0), 2_000).unref();
    Promise.resolve(close()).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
