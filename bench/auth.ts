/**
 * Cost of authentication and authorization: `npm run bench:auth` (≈ 30 s) or
 * `npm run bench:auth -- --quick` (≈ 10 s).
 *
 * In-process, against the real Security of an auth file (bench/lib/auth-setup.ts), nothing mocked:
 *  1. `session.authorize` per call: cached (the same topic and operation again: what every
 *     produce or fetch pays), uncached (a new name each call, evaluated against the rules: what
 *     the first request on a topic pays), denied (throws the typed error), and `LocalSession`
 *     (security off) as the floor;
 *  2. the hot path itself: one-record produces, one at a time, to an in-process broker over the
 *     memory log, straight to the broker, through the guarded broker of a `LocalSession`
 *     (security off) and of the authenticated session (security on), in alternating rounds so
 *     drift on a busy machine hits all three alike;
 *  3. authentications per second, by method: password (a full scrypt check at the server's
 *     default cost, as a first login or a wrong password pays; and a password the server
 *     remembers having verified, as HTTP Basic pays on every request after the first), API key
 *     (SHA-256), JWT HS256, RS256 and ES256 (jose). One at a time.
 *
 * Prints a table and the load average; writes bench/results/auth-<date>.json. A plain script,
 * never a test. The end-to-end cost on the wire is `npm run bench -- --systems
 * tributary,tributary-auth --only publish,latency,fanout`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { createBroker } from '../src/broker/broker.js';
import type { Broker } from '../src/broker/types.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import { guardBroker } from '../src/server/auth/guard.js';
import { verifyPassword } from '../src/server/auth/passwords.js';
import { createSecurity } from '../src/server/auth/security.js';
import { LocalSession } from '../src/server/auth/session.js';
import type { Credentials, Session } from '../src/server/auth/types.js';
import { prefixRules, writeAuthSetup } from './lib/auth-setup.js';
import { writeResults } from './lib/results.js';
import { formatFixed, formatInt, printTable } from './lib/table.js';

const QUICK = process.argv.includes('--quick');
const AUTHORIZE_MS = QUICK ? 300 : 1_000;
const AUTHENTICATE_MS = QUICK ? 1_000 : 3_000;
const CONNECTION = { protocol: 'bench', remoteAddress: '127.0.0.1' };

interface Row {
  readonly name: string;
  readonly opsPerSec: number;
  readonly nsPerOp: number;
}

/** Runs `op` in batches until `ms` have passed (after a short warm-up); ops per second. */
function measureSync(name: string, ms: number, op: (i: number) => void): Row {
  for (let i = 0; i < 10_000; i++) op(i);
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 10_000; i++) op(count + i);
    count += 10_000;
    elapsed = performance.now() - start;
  }
  return { name, opsPerSec: (count / elapsed) * 1000, nsPerOp: (elapsed * 1e6) / count };
}

async function measureAsync(name: string, ms: number, op: () => Promise<unknown>): Promise<Row> {
  await op();
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    await op();
    count++;
    elapsed = performance.now() - start;
  }
  return { name, opsPerSec: (count / elapsed) * 1000, nsPerOp: (elapsed * 1e6) / count };
}

/** Produce rounds per path; the paths take turns so a busy machine's drift hits each alike. */
const PRODUCE_ROUNDS = 6;

async function measureProduce(session: Session, local: Session): Promise<Row[]> {
  const broker = await createBroker(createMemoryLog());
  await broker.createTopic('bench_hot', { partitions: 1 });
  const paths: [string, Broker][] = [
    ['produce 1 record: broker directly', broker],
    ['produce 1 record: guarded, security off', guardBroker(broker, local)],
    ['produce 1 record: guarded, security on', guardBroker(broker, session)],
  ];
  const value = new Uint8Array(100);
  const totals = paths.map(() => ({ count: 0, ms: 0 }));
  for (let round = 0; round < PRODUCE_ROUNDS; round++) {
    for (const [index, [name, target]] of paths.entries()) {
      const row = await measureAsync(name, AUTHORIZE_MS / 2, () =>
        target.produce('bench_hot', [{ key: null, value }]),
      );
      totals[index]!.count += (row.opsPerSec * AUTHORIZE_MS) / 2 / 1000;
      totals[index]!.ms += AUTHORIZE_MS / 2;
    }
  }
  await broker.close();
  return paths.map(([name], index) => {
    const { count, ms } = totals[index]!;
    return { name, opsPerSec: (count / ms) * 1000, nsPerOp: (ms * 1e6) / count };
  });
}

function perOp(ns: number): string {
  if (ns >= 1e6) return `${formatFixed(ns / 1e6, 2)} ms`;
  if (ns >= 1e3) return `${formatFixed(ns / 1e3, 1)} µs`;
  return `${formatFixed(ns, 0)} ns`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-auth-'));
  const loadAtStart = loadavg();
  const startedAt = new Date();
  try {
    // Realistic rule count: the bench principal's rules among 100 other principals' prefix rules.
    const others = Array.from({ length: 100 }, (_, i) => prefixRules(`team-${i}`, `team-${i}.`)).flat();
    const setup = await writeAuthSetup(dir, { acls: [...prefixRules('bench', 'bench'), ...others] });
    const security = await createSecurity({
      authFile: setup.authFile,
      logger: pino({ level: 'silent' }),
      watch: false,
    });
    const session = await security.authenticate({ kind: 'apiKey', key: setup.apiKey }, CONNECTION);
    const local: Session = new LocalSession(CONNECTION);

    const authorize: Row[] = [
      measureSync('authorize, security off (LocalSession)', AUTHORIZE_MS, () =>
        local.authorize('topic', 'bench_orders', 'write'),
      ),
      measureSync('authorize, cached (same topic)', AUTHORIZE_MS, () =>
        session.authorize('topic', 'bench_orders', 'write'),
      ),
      measureSync('authorize, uncached (new topic each call)', AUTHORIZE_MS, (i) =>
        session.authorize('topic', `bench_t${i}`, 'read'),
      ),
      measureSync('authorize, denied (throws, cached)', AUTHORIZE_MS, () => {
        try {
          session.authorize('topic', 'team-7.secret', 'read');
        } catch {
          // the denial is the point
        }
      }),
    ];

    const produce = await measureProduce(session, local);

    const tokens = {
      HS256: await setup.sign('HS256', 3600),
      RS256: await setup.sign('RS256', 3600),
      ES256: await setup.sign('ES256', 3600),
    };
    const users = (
      JSON.parse(readFileSync(setup.authFile, 'utf8')) as { users: Record<string, { password: string }> }
    ).users;
    const storedHash = users[setup.principal]!.password;
    const authenticate: Row[] = [
      await measureAsync('password check: scrypt N=2^15, r=8, p=1 (first login)', AUTHENTICATE_MS, () =>
        verifyPassword(storedHash, setup.password),
      ),
      await measureAsync('authenticate: wrong password (full scrypt, refused)', AUTHENTICATE_MS, () =>
        security
          .authenticate({ kind: 'password', username: setup.principal, password: 'wrong' }, CONNECTION)
          .catch(() => undefined),
      ),
    ];
    const methods: [string, Credentials][] = [
      [
        'password, remembered (HTTP Basic after the first)',
        { kind: 'password', username: setup.principal, password: setup.password },
      ],
      ['API key (SHA-256)', { kind: 'apiKey', key: setup.apiKey }],
      ['JWT HS256', { kind: 'token', token: tokens.HS256 }],
      ['JWT RS256', { kind: 'token', token: tokens.RS256 }],
      ['JWT ES256', { kind: 'token', token: tokens.ES256 }],
    ];
    for (const [name, credentials] of methods) {
      authenticate.push(
        await measureAsync(`authenticate: ${name}`, AUTHENTICATE_MS, async () => {
          (await security.authenticate(credentials, CONNECTION)).close();
        }),
      );
    }
    session.close();
    security.close();

    const loadAtEnd = loadavg();
    printTable(
      ['operation', 'ops/s', 'per op'],
      [...authorize, ...produce, ...authenticate].map((row) => [
        row.name,
        formatInt(Math.round(row.opsPerSec)),
        perOp(row.nsPerOp),
      ]),
    );
    console.log(
      `load average (1/5/15 min): start ${loadAtStart.map((n) => n.toFixed(2)).join(' ')}, end ${loadAtEnd
        .map((n) => n.toFixed(2))
        .join(' ')}`,
    );
    const file = await writeResults('auth', startedAt, {
      quick: QUICK,
      rules: 3 + others.length,
      authorize,
      produce,
      authenticate,
      loadAverage: { start: loadAtStart, end: loadAtEnd },
    });
    console.log(`results: ${file}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
