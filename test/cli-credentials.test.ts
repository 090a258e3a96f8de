/**
 * The CLI's credentials against a real server with security on: every client command
 * (`topics`, `produce`, `consume` over SSE, `consume --group` over WebSocket) authenticates with
 * `--token`, `--api-key`, `--user` + `--password-stdin`, or their environment variables; refused
 * credentials and denied operations exit 3 with a hint; no secret ever appears in the output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthSetup } from '../bench/lib/auth-setup.js';
import type { RunningServer } from '../src/server/server.js';
import { type AuthSetupServer, startAuthSetupServer } from './fixtures/auth-setup-server.js';
import { spawnCli } from './fixtures/cli-process.js';

const CLI_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 120_000;

let running: AuthSetupServer;
let setup: AuthSetup;
let server: RunningServer;
let token: string;

beforeAll(async () => {
  running = await startAuthSetupServer('alice', 'cli');
  ({ setup, server } = running);
  token = await setup.sign('HS256', 600);
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  await running?.close();
});

async function cli(
  args: readonly string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<{ code: number | string; output: string }> {
  const run = spawnCli([...args, '--url', server.url], env, stdin === undefined ? {} : { stdin });
  const timer = setTimeout(() => run.child.kill('SIGKILL'), CLI_TIMEOUT_MS);
  const code = await run.exited;
  clearTimeout(timer);
  return { code, output: run.output() };
}

function expectNoSecrets(output: string): void {
  for (const secret of [token, setup.apiKey, setup.password]) expect(output).not.toContain(secret);
}

describe('CLI credentials', () => {
  it(
    'authenticates every client command with each credential kind',
    async () => {
      const created = await cli(['topics', 'create', 'cli-orders', '--token', token]);
      expect(created.output).toContain('Created topic "cli-orders"');
      expect(created.code).toBe(0);

      const listed = await cli(['topics', 'list', '--api-key', setup.apiKey]);
      expect(listed.code).toBe(0);
      expect(listed.output).toContain('cli-orders');

      // The password is stdin's first line; produce reads its records from the lines after it.
      const produced = await cli(
        ['produce', 'cli-orders', '--user', setup.principal, '--password-stdin'],
        {},
        `${setup.password}\n{"n":1}\n{"n":2}\n`,
      );
      expect(produced.output).toContain('Produced 2 record(s)');
      expect(produced.code).toBe(0);

      const consumed = await cli(['consume', 'cli-orders', '--from', 'earliest', '--max', '2'], {
        TRIBUTARY_USER: setup.principal,
        TRIBUTARY_PASSWORD: setup.password,
      });
      expect(consumed.code).toBe(0);
      expect(
        consumed.output
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line).value),
      ).toEqual([{ n: 1 }, { n: 2 }]);

      const group = await cli(
        ['consume', 'cli-orders', '--group', 'cli-billing', '--from', 'earliest', '--max', '2'],
        { TRIBUTARY_TOKEN: token },
      );
      expect(group.code).toBe(0);
      expect(group.output.trim().split('\n')).toHaveLength(2);

      const described = await cli(['topics', 'describe', 'cli-orders'], { TRIBUTARY_API_KEY: setup.apiKey });
      expect(described.code).toBe(0);
      for (const run of [created, listed, produced, consumed, group, described]) expectNoSecrets(run.output);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'exits 3 with a hint when credentials are missing, wrong or not allowed, over HTTP and WebSocket',
    async () => {
      const none = await cli(['topics', 'list']);
      expect(none.code).toBe(3);
      expect(none.output).toContain('UNAUTHENTICATED');
      expect(none.output).toContain('--token');

      const wrongPassword = await cli(
        ['topics', 'list', '--user', setup.principal, '--password-stdin'],
        {},
        'nope\n',
      );
      expect(wrongPassword.code).toBe(3);
      expect(wrongPassword.output).toContain(`user "${setup.principal}"`);
      expect(wrongPassword.output).not.toContain('nope');

      const badToken = await setup.signWithWrongKey(600);
      const wrongToken = await cli(['topics', 'list', '--token', badToken]);
      expect(wrongToken.code).toBe(3);
      expect(wrongToken.output).not.toContain(badToken);

      const denied = await cli(['topics', 'create', 'secret-topic'], { TRIBUTARY_TOKEN: token });
      expect(denied.code).toBe(3);
      expect(denied.output).toContain('TOPIC_ACCESS_DENIED');

      const wsRefused = await cli(['consume', 'cli-orders', '--group', 'g', '--max', '1'], {
        TRIBUTARY_API_KEY: 'trb_0000000000000000000000000000000000000000',
      });
      expect(wsRefused.code).toBe(3);
      expect(wsRefused.output).toContain('UNAUTHENTICATED');
      // Allowed over HTTP (the topic), denied over WebSocket (the group): the same exit code.
      const groupDenied = await cli(['consume', 'cli-orders', '--group', 'other-group', '--max', '1'], {
        TRIBUTARY_TOKEN: token,
      });
      expect(groupDenied.code).toBe(3);
      expect(groupDenied.output).toContain('GROUP_ACCESS_DENIED');
      for (const run of [none, wrongPassword, wrongToken, denied, wsRefused, groupDenied])
        expectNoSecrets(run.output);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses ambiguous or incomplete credentials as bad usage (exit 2)',
    async () => {
      const two = await cli(['topics', 'list', '--token', token, '--api-key', setup.apiKey]);
      expect(two.code).toBe(2);
      expect(two.output).toContain('only one of');
      const noPassword = await cli(['topics', 'list', '--user', 'alice']);
      expect(noPassword.code).toBe(2);
      const emptyStdin = await cli(['topics', 'list', '--user', 'alice', '--password-stdin'], {}, '');
      expect(emptyStdin.code).toBe(2);
      for (const run of [two, noPassword, emptyStdin]) expectNoSecrets(run.output);
    },
    TEST_TIMEOUT_MS,
  );
});
