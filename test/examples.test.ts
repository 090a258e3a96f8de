/**
 * The runnable examples (`examples/`, `npm run example:<name>`), each in its short mode as a
 * child process, exactly as a reader would run them: each starts its own server, runs, checks
 * its own invariant and prints a final `<name>: OK …` line; exit code 0.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logicalPostgres } from './cdc-helpers.js';
import { describeWithService, PG_URL, REDIS_URL, redisAvailable } from './sinks-helpers.js';

const ROOT = resolve(import.meta.dirname, '..');

function runExample(
  name: string,
  timeoutMs = 90_000,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), `examples/${name}/main.ts`, '--short'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

describe('examples (short mode)', () => {
  it('inventory: two storefronts never oversell a strong collection', { timeout: 120_000 }, async () => {
    const { code, stdout, stderr } = await runExample('inventory');
    expect(stderr).toBe('');
    expect(lastLine(stdout)).toMatch(/^inventory: OK, never oversold: sold (\d+) of 36, stock left (\d+)/);
    const [, sold, left] = /sold (\d+) of 36, stock left (\d+)/.exec(stdout)!;
    expect(Number(sold) + Number(left)).toBe(36);
    expect(stdout).toContain('[storefront-north] sold');
    expect(stdout).toContain('[storefront-south] sold');
    expect(stdout).toContain('[warehouse] READY');
    expect(code).toBe(0);
  });

  it('analytics: a pipeline turns the inventory orders into live sales per product per minute', {
    timeout: 150_000,
  }, async () => {
    const { code, stdout, stderr } = await runExample('analytics', 140_000);
    expect(stderr).toBe('');
    expect(lastLine(stdout)).toMatch(
      /^analytics: OK, sales per product per minute match the inventory: (\d+) units in (\d+) orders over 3 products, (\d+) product-minutes, each sale counted once$/,
    );
    const [, units, orders] = /match the inventory: (\d+) units in (\d+) orders/.exec(stdout)!;
    // The storefronts sell the whole stock (3 SKUs of 12) in the short run, in at least 12 orders of 1-3 units.
    expect(Number(units)).toBe(36);
    expect(Number(orders)).toBeGreaterThanOrEqual(12);
    // The dashboard drew frames while the storefronts sold, and its last frame has the three products.
    expect(stdout).toContain('minute (UTC)  product  units  orders  revenue');
    expect(stdout).toMatch(/sku-1\s+12\s+\d+\s+150\.00/);
    expect(stdout).toContain('[storefront-north] sold');
    expect(code).toBe(0);
  });

  it('bank: transfers conserve the total and never overdraw', { timeout: 120_000 }, async () => {
    const { code, stdout, stderr } = await runExample('bank');
    expect(stderr).toBe('');
    expect(lastLine(stdout)).toMatch(/^bank: OK, total conserved: 400 = 4 × 100; \d+ transfers/);
    expect(code).toBe(0);
  });

  it('orders: commands, events, a projection feeding a live dashboard, rebuilt and swapped', {
    timeout: 120_000,
  }, async () => {
    const { code, stdout, stderr } = await runExample('orders');
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^rebuild v2: 100% /m);
    expect(stdout).toMatch(/^\[clerk-1\] 25 commands, \d+ appended/m);
    expect(lastLine(stdout)).toMatch(
      /^orders: OK, 75 commands on 6 orders \(\d+ appended, \d+ retried after a conflict, [1-9]\d* read their own write\); the live dashboard \(\d+ change frames\) matches every order's events; rebuilt into orders-dashboard\.v2, identical$/,
    );
    expect(code).toBe(0);
  });

  it('iot: MQTT sensors publish at QoS 1; the dashboard reads every acknowledged reading in order', {
    timeout: 120_000,
  }, async () => {
    const { code, stdout, stderr } = await runExample('iot');
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^t=\d+\.\ds sensors=\d+\/40 /m); // plain summary lines: stdout is not a TTY
    expect(stdout).not.toContain('\x1b[');
    expect(lastLine(stdout)).toMatch(
      /^iot: OK, 40 sensors on 2 gateways published [1-9]\d* readings over MQTT \(QoS 1\) .* exactly once, in order per sensor \([1-9]\d* of them published before it started\)$/,
    );
    expect(code).toBe(0);
  });

  it('socket.io: the relay program on two servers shares every broadcast through the adapter', {
    timeout: 120_000,
  }, async () => {
    const { code, stdout, stderr } = await runExample('socket.io');
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^\[server A\] listening \d+$/m);
    expect(stdout).toMatch(/^\[server B\] listening \d+$/m);
    expect(stdout).toMatch(/^\[carol on :\d+\] data-update from alice #3$/m);
    expect(lastLine(stdout)).toBe(
      'socket.io: OK, 4 clients on 2 servers: each of the 12 data-updates reached the 3 other clients exactly once, in order, and never its sender',
    );
    expect(code).toBe(0);
  });

  it('mirrored: 3 tfjs workers stay bit-identical through a SIGKILL and a rejoin, and learn y = 3x + 2', {
    timeout: 200_000,
  }, async () => {
    const { code, stdout, stderr } = await runExample('mirrored', 180_000);
    expect(stderr).toBe('');
    const steps = stdout.split('\n').filter((line) => line.startsWith('step '));
    expect(steps.length).toBeGreaterThan(40);
    for (const line of steps) expect(line).not.toContain('≠');
    expect(stdout).toMatch(/^step +\d+ +[0-9a-f]{16} +×3 .*w1\*\(replayed\)/m);
    expect(lastLine(stdout)).toMatch(
      /^mirrored: OK, 3 replicas bit-identical after each of \d+ steps \(final hash [0-9a-f]{16}\); w1 SIGKILLed after step 10, restarted, replayed [1-9]\d* steps and trained from step \d+; learned y = 3\.0000x \+ 2\.0000, within .* of single-process training$/,
    );
    expect(code).toBe(0);
  });
});

const cdcServices = (await logicalPostgres()) && (await redisAvailable());

describeWithService(
  'examples (short mode): cdc',
  cdcServices,
  `Postgres with wal_level=logical at ${PG_URL} and Redis at ${REDIS_URL}`,
  () => {
    it('cdc: a Postgres table edited by a script reaches a live collection and a Redis cache', {
      timeout: 150_000,
    }, async () => {
      const { code, stdout, stderr } = await runExample('cdc', 130_000, {
        TRIBUTARY_EXAMPLE_PG_URL: PG_URL,
        TRIBUTARY_EXAMPLE_REDIS_URL: REDIS_URL,
      });
      expect(stderr).toBe('');
      expect(stdout).toMatch(/^page: http:\/\/127\.0\.0\.1:\d+\/\?server=/m);
      expect(stdout).toMatch(/^\[editor\] restock: \+10 on all \d+ products in one transaction$/m);
      expect(stdout).toMatch(/^\[editor\] done 30$/m);
      expect(lastLine(stdout)).toMatch(
        /^cdc: OK, 30 edits to the Postgres table reached the live collection \([1-9]\d* live changes\) and the Redis cache; both equal the table's \d+ rows$/,
      );
      expect(code).toBe(0);
    });
  },
);
