/**
 * @module cli/commands/auth
 * `tributary auth`: edits and checks the auth file (docs/security.md, "Managing users and keys").
 * Passwords and keys never reach the file in clear: `add-user` stores a scrypt hash and both
 * SCRAM credentials (SHA-256 and SHA-512, for Kafka clients), `add-key` stores the key's SHA-256
 * and prints the key once.
 *
 * Every edit reads the file, refuses to touch one that is not valid, checks the result, and
 * replaces the file atomically (a temporary file in the same directory, fsync, rename), so a
 * server watching the file never reads half of it; the file keeps its mode (0600 when new).
 *
 * @example
 * tributary auth init /etc/tributary/auth.json
 * printf '%s' "$PASSWORD" | tributary auth add-user alice --file /etc/tributary/auth.json --password-stdin
 * tributary auth add-key ingest --id ci-2026 --file /etc/tributary/auth.json   # prints trb_…
 * tributary auth revoke-key ci-2026 --file /etc/tributary/auth.json
 * tributary auth check --file /etc/tributary/auth.json
 */
import { type Command, Option } from 'commander';
import {
  SCRAM_ITERATIONS_DEFAULT,
  SCRAM_ITERATIONS_MAX,
  SCRAM_ITERATIONS_MIN,
} from '../../server/auth/passwords.js';
import { intParser } from '../api.js';

/** The environment variable the server reads too. */
export const AUTH_FILE_ENV = 'TRIBUTARY_AUTH_FILE';
export interface FileOption {
  readonly file?: string;
}

/** The file edits load on use: `tributary --help` and the other commands start without them. */
const edits = (): Promise<typeof import('./auth-edit.js')> => import('./auth-edit.js');

export function registerAuthCommand(program: Command): void {
  const auth = program
    .command('auth')
    .description('Create, edit and check the auth file: users, API keys (docs/security.md).');
  const fileOption = (): Option =>
    new Option('-f, --file <file>', `the auth file (env ${AUTH_FILE_ENV})`).env(AUTH_FILE_ENV);

  auth
    .command('init')
    .description('Create an empty auth file (no users, no keys, anonymous off), readable by its owner only.')
    .argument('<file>', 'the auth file to create')
    .action(async (file: string) => {
      await (await edits()).initCommand(file);
    });

  auth
    .command('add-user')
    .description(
      'Add a user with a password: stores its scrypt hash and SCRAM-SHA-256/512 credentials. The password is ' +
        'read from stdin with --password-stdin, or asked for when run in a terminal.',
    )
    .argument('<name>', 'the user (principal) name')
    .addOption(fileOption())
    .option('--password-stdin', 'read the password from stdin (one trailing newline is dropped)')
    .option('--replace', 'replace the credentials of a user that exists (change a password)')
    .option(
      '--scram-iterations <n>',
      `SCRAM iterations (${SCRAM_ITERATIONS_MIN}…${SCRAM_ITERATIONS_MAX}, default ${SCRAM_ITERATIONS_DEFAULT})`,
      intParser(SCRAM_ITERATIONS_MIN, 'SCRAM iterations'),
    )
    .action(
      async (
        name: string,
        options: FileOption & { passwordStdin?: boolean; replace?: boolean; scramIterations?: number },
      ) => {
        await (await edits()).addUserCommand(name, options);
      },
    );

  auth
    .command('remove-user')
    .description('Remove a user (a server reloading the file ends its sessions with ACCESS_REVOKED).')
    .argument('<name>', 'the user name')
    .addOption(fileOption())
    .action(async (name: string, options: FileOption) => {
      await (await edits()).removeUserCommand(name, options);
    });

  auth
    .command('add-key')
    .description('Add an API key for a principal; prints the key once (only its SHA-256 is stored).')
    .argument('<principal>', 'the principal the key authenticates as')
    .addOption(fileOption())
    .option('--id <id>', 'a name for the key, to revoke it by (default: PRINCIPAL-DATE-RANDOM)')
    .action(async (principal: string, options: FileOption & { id?: string }) => {
      await (await edits()).addKeyCommand(principal, options);
    });

  auth
    .command('revoke-key')
    .description('Remove an API key by its id (a server reloading the file ends its sessions).')
    .argument('<id>', 'the key id')
    .addOption(fileOption())
    .action(async (id: string, options: FileOption) => {
      await (await edits()).revokeKeyCommand(id, options);
    });

  auth
    .command('check')
    .description(
      'Validate the auth file (and the key files it names) and summarize it; exits 2 when invalid.',
    )
    .addOption(fileOption())
    .action(async (options: FileOption) => {
      await (await edits()).checkCommand(options);
    });
}
