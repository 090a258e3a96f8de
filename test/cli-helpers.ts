/**
 * Runs the real CLI (the build or the sources, see fixtures/cli-entry.ts) as a child process, for
 * black-box tests: its exit code, stdout and stderr, read to their end.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { cliEntry } from './fixtures/cli-entry.js';

export const ROOT = resolve(import.meta.dirname, '..');
const CLI_TIMEOUT_MS = 20_000;

export interface CliResult {
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

export function cli(
  args: readonly string[],
  { stdin, env = {} }: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (env.TRIBUTARY_URL === undefined) delete childEnv.TRIBUTARY_URL;
  const child = spawn(process.execPath, [...cliEntry(), ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(stdin ?? '');
  return new Promise((resolveRun, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI ${args.join(' ')} did not exit:\n${stdout}\n${stderr}`));
    }, CLI_TIMEOUT_MS);
    // 'close', not 'exit': by then stdout and stderr have been read to their end.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? signal ?? 'unknown', stdout, stderr });
    });
  });
}
