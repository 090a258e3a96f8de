/**
 * @module bench/systems/tributary-auth
 * Tributary with security on, to measure what authorization costs on the hot path: the same
 * built server as `tributary` ({@link ./tributary.ts}) started with an auth file
 * (bench/lib/auth-setup.ts) whose principal `bench` may do everything to topics named `bench…`
 * (prefix rules, among 100 other principals' rules, so decisions are not trivially the first
 * rule), and every client (admin calls over HTTP, load generators over the SDK) authenticating
 * with that principal's API key. Each produce, subscribe and credit is checked by the
 * connection's session; compare with `tributary` in the same run:
 *
 *   npm run bench -- --systems tributary,tributary-auth --only publish,latency,fanout
 *
 * The API key is made once per benchmark run by the orchestrator and handed to the load
 * generators in the endpoint (plain data); the auth file is written beside the server's data
 * directory (under the run's temp dir, removed with it).
 */
import { mkdir } from 'node:fs/promises';
import { generateApiKey } from '../../src/server/auth/api-keys.js';
import { prefixRules, writeAuthSetup } from '../lib/auth-setup.js';
import { tributarySystem } from './tributary.js';
import type { SystemModule } from './types.js';

const API_KEY = generateApiKey();

export const tributaryAuth: SystemModule = tributarySystem({
  id: 'tributary-auth',
  label: 'trib+auth',
  description:
    'Tributary (built, as `tributary`) with an auth file: 303 ACL rules, clients authenticated by API key, every operation authorized',
  apiKey: API_KEY,
  async serveArgs(dir) {
    const others = Array.from({ length: 100 }, (_, i) => prefixRules(`team-${i}`, `team-${i}.`)).flat();
    // Beside the data directory, not in it: the server watches the auth file's directory.
    const authDir = `${dir}-auth`;
    await mkdir(authDir, { recursive: true });
    const setup = await writeAuthSetup(authDir, {
      principal: 'bench',
      apiKey: API_KEY,
      acls: [...prefixRules('bench', 'bench'), ...others],
    });
    return ['--auth-file', setup.authFile];
  },
});
