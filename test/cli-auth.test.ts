/**
 * `tributary auth` run as a user would: init, add-user (password on stdin), add-key (printed
 * once), revoke-key, remove-user, check; and what it writes works in the server's Security.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { apiKeyHash } from '../src/server/auth/api-keys.js';
import { deriveScramCredential } from '../src/server/auth/passwords.js';
import { createSecurity } from '../src/server/auth/security.js';
import { spawnCli } from './fixtures/cli-process.js';

/** Each run starts a Node process; on a loaded machine that takes seconds. */
const TIMEOUT_MS = 120_000;
const connection = { protocol: 'http', remoteAddress: '127.0.0.1' };

async function run(
  args: readonly string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<{ code: number | string; output: string }> {
  const cli = spawnCli(
    ['auth', ...args],
    options.env ?? {},
    options.stdin === undefined ? {} : { stdin: options.stdin },
  );
  const code = await cli.exited;
  return { code, output: cli.output() };
}

describe('tributary auth', () => {
  it(
    'creates a file, adds users and keys, and the server accepts exactly those',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cli-auth-'));
      const file = join(dir, 'auth.json');
      expect((await run(['init', file])).code).toBe(0);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect((await run(['init', file])).output).toMatch(/exists; not overwritten/);

      const added = await run(['add-user', 'alice', '--file', file, '--password-stdin'], {
        stdin: 'wonderland\n',
      });
      expect(added.output).toContain('Added user alice');
      expect(added.code).toBe(0);
      const key = await run(['add-key', 'ingest', '--id', 'ci-2026'], { env: { TRIBUTARY_AUTH_FILE: file } });
      expect(key.code).toBe(0);
      const printed = key.output.match(/trb_[A-Za-z0-9_-]{43}/)?.[0] ?? '';
      expect(printed).not.toBe('');

      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('wonderland');
      expect(text).not.toContain(printed);
      const stored = JSON.parse(text) as {
        users: Record<
          string,
          { password: string; scram: Record<string, { salt: string; iterations: number; storedKey: string }> }
        >;
        apiKeys: { principal: string; id: string; sha256: string }[];
      };
      expect(stored.apiKeys).toEqual([{ principal: 'ingest', id: 'ci-2026', sha256: apiKeyHash(printed) }]);
      for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
        const scram = stored.users.alice?.scram[mechanism];
        const derived = deriveScramCredential('wonderland', mechanism, {
          salt: Buffer.from(scram?.salt ?? '', 'base64'),
          iterations: scram?.iterations ?? 0,
        });
        expect(derived.storedKey.toString('base64')).toBe(scram?.storedKey);
      }

      const security = await createSecurity({
        authFile: file,
        logger: pino({ level: 'silent' }),
        watch: false,
      });
      try {
        const alice = await security.authenticate(
          { kind: 'password', username: 'alice', password: 'wonderland' },
          connection,
        );
        expect(alice.principal.name).toBe('alice');
        await expect(
          security.authenticate(
            { kind: 'password', username: 'alice', password: 'wonderland\n' },
            connection,
          ),
        ).rejects.toThrow(/invalid credentials/);
        expect(
          (await security.authenticate({ kind: 'apiKey', key: printed }, connection)).principal.name,
        ).toBe('ingest');

        const check = await run(['check', '--file', file]);
        expect(check.code).toBe(0);
        expect(check.output).toContain('valid');
        expect(check.output).toContain('alice (password, SCRAM-SHA-256, SCRAM-SHA-512)');
        expect(check.output).toContain('ci-2026 → ingest');

        expect(
          (await run(['add-user', 'alice', '--file', file, '--password-stdin'], { stdin: 'x' })).output,
        ).toMatch(/User "alice" exists/);
        expect((await run(['revoke-key', 'ci-2026', '--file', file])).code).toBe(0);
        expect((await run(['remove-user', 'alice', '--file', file])).code).toBe(0);
        expect((await run(['remove-user', 'alice', '--file', file])).output).toMatch(/No user "alice"/);
        await security.reload();
        await expect(security.authenticate({ kind: 'apiKey', key: printed }, connection)).rejects.toThrow();
        await expect(
          security.authenticate({ kind: 'password', username: 'alice', password: 'wonderland' }, connection),
        ).rejects.toThrow();
        expect(alice.ended?.code).toBe('ACCESS_REVOKED');
      } finally {
        security.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'a SIGKILL at any moment of an edit leaves the old file or the new one, never a part, and a watching server never reads a part',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cli-auth-'));
      const file = join(dir, 'auth.json');
      expect((await run(['init', file])).code).toBe(0);
      const lines: string[] = [];
      const security = await createSecurity({
        authFile: file,
        logger: pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }),
        watchDebounceMs: 0,
      });
      try {
        const seen = new Set<string>();
        for (let attempt = 0; attempt < 8; attempt++) {
          const before = readFileSync(file, 'utf8');
          const cli = spawnCli(
            ['auth', 'add-user', `user${attempt}`, '--file', file, '--password-stdin'],
            {},
            {
              stdin: 'secret\n',
            },
          );
          // The first is killed at once and the last runs to the end; the others are killed at
          // moments spread over start-up, the password hashing and the write.
          if (attempt < 7) {
            await new Promise((resolve) => setTimeout(resolve, attempt === 0 ? 50 : 300 * attempt));
            cli.child.kill('SIGKILL');
          }
          const code = await cli.exited;
          const after = readFileSync(file, 'utf8');
          const usersOf = (text: string): string[] =>
            Object.keys((JSON.parse(text) as { users: Record<string, unknown> }).users).sort();
          const expectedNew = [...usersOf(before), `user${attempt}`].sort();
          if (code === 'SIGKILL') {
            // Killed: the old file, or the whole new one if the rename had happened; nothing between.
            if (after !== before) expect(usersOf(after)).toEqual(expectedNew);
          } else {
            expect(code).toBe(0);
            expect(usersOf(after)).toEqual(expectedNew);
          }
          seen.add(after === before ? 'old' : 'new');
          const check = await run(['check', '--file', file]);
          expect(check.code, check.output).toBe(0);
        }
        await security.reload();
        expect(security.config?.path).toBe(file);
        // The watcher read the file after every change: it never found a broken one.
        expect(lines.filter((line) => line.includes('Auth file not reloaded'))).toEqual([]);
        // Both outcomes happened: a kill before the rename kept the old file, an edit that got there wrote it whole.
        expect([...seen].sort()).toEqual(['new', 'old']);
      } finally {
        security.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'refuses to edit or pass an invalid file, naming the problem, and leaves it as it was',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cli-auth-'));
      const file = join(dir, 'auth.json');
      const broken = JSON.stringify({ users: { bob: { password: 'hunter2' } }, acl: [] });
      writeFileSync(file, broken);
      const edit = await run(['add-key', 'ingest', '--file', file]);
      expect(edit.code).toBe(2);
      expect(edit.output).toMatch(/users\.bob\.password: not a scrypt hash/);
      expect(edit.output).toMatch(/acl: unknown key/);
      expect(edit.output).not.toMatch(/trb_/);
      expect(readFileSync(file, 'utf8')).toBe(broken);
      const check = await run(['check', '--file', file]);
      expect(check.code).toBe(2);
      expect(check.output).toMatch(/users\.bob\.password/);
      const noFile = await run(['check']);
      expect(noFile.code).toBe(2);
      expect(noFile.output).toMatch(/--file or TRIBUTARY_AUTH_FILE/);
    },
    TIMEOUT_MS,
  );
});
