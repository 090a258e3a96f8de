/**
 * Black-box tests of the client commands (`topics`, `produce`, `consume`): the CLI runs as a
 * child process from source (tsx) against a real server on port 0, observed through its stdout,
 * stderr and exit code.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from './cli-helpers.js';
import { cliEntry } from './fixtures/cli-entry.js';
import { call, createTopic, produce, start, type TestServer, tempDir } from './http-helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: TestServer;
let url: string;

beforeAll(async () => {
  dir = await tempDir('tributary-cli-');
  server = await start(dir.path);
  url = server.url;
});

afterAll(async () => {
  await server.close();
  await dir.remove();
});

/** Each test starts several CLI processes (node + tsx): allow for a loaded CI machine. */
const SLOW = { timeout: 120_000 };

describe('tributary topics', SLOW, () => {
  it('creates, lists, describes and deletes topics', async () => {
    const created = await cli([
      'topics',
      'create',
      'cli-orders',
      '--partitions',
      '3',
      '--fsync',
      'always',
      '--retention-ms',
      '3600000',
      '--url',
      url,
    ]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toContain('Created topic "cli-orders": 3 partition(s), fsync always');

    const compacted = await cli(['topics', 'create', 'cli-state', '--compact', '--json'], {
      env: { TRIBUTARY_URL: url },
    });
    expect(compacted.code).toBe(0);
    expect(JSON.parse(compacted.stdout)).toMatchObject({ name: 'cli-state', config: { compact: true } });

    const list = await cli(['topics', 'list', '--url', url]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+PARTITIONS\s+FSYNC\s+RETENTION\s+COMPACT\s+RECORDS\s+SIZE$/);
    expect(lines.find((l) => l.startsWith('cli-orders'))).toMatch(
      /^cli-orders\s+3\s+always\s+3600000 ms\s+no\s+0/,
    );
    expect(lines.find((l) => l.startsWith('cli-state'))).toMatch(/^cli-state\s+1\s+interval\s+forever\s+yes/);

    const described = await cli(['topics', 'describe', 'cli-orders', '--url', url]);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('Topic: cli-orders');
    expect(described.stdout).toContain('fsync: always');
    expect(described.stdout).toMatch(/PARTITION\s+EARLIEST\s+NEXT\s+SIZE\n0\s+0\s+0/);

    const describedJson = await cli(['topics', 'describe', 'cli-orders', '--json', '--url', url]);
    expect(JSON.parse(describedJson.stdout).partitions).toHaveLength(3);

    const deleted = await cli(['topics', 'delete', 'cli-state', '--url', url]);
    expect(deleted).toMatchObject({ code: 0, stdout: 'Deleted topic "cli-state".\n' });
    expect((await call(url, 'GET', '/v1/topics/cli-state')).status).toBe(404);
  });

  it("prints the server's error code and message and exits 1", async () => {
    const missing = await cli(['topics', 'describe', 'nope', '--url', url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: TOPIC_NOT_FOUND: Topic "nope" does not exist\n');
    expect(missing.stdout).toBe('');

    await createTopic(url, 'cli-dup');
    const dup = await cli(['topics', 'create', 'cli-dup', '--url', url]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('TOPIC_EXISTS');

    const badName = await cli(['topics', 'create', 'bad name', '--url', url]);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toContain('INVALID_TOPIC_NAME');
  });

  it('exits 2 on bad usage', async () => {
    const badFsync = await cli(['topics', 'create', 'x', '--fsync', 'sometimes', '--url', url]);
    expect(badFsync.code).toBe(2);
    expect(badFsync.stderr).toMatch(/--fsync.*sometimes/);
    const badPartitions = await cli(['topics', 'create', 'x', '--partitions', 'many', '--url', url]);
    expect(badPartitions.code).toBe(2);
    const missingName = await cli(['topics', 'create', '--url', url]);
    expect(missingName.code).toBe(2);
    expect(missingName.stderr).toMatch(/missing required argument/);
    const unknown = await cli(['topics', 'frobnicate']);
    expect(unknown.code).toBe(2);
    const badUrl = await cli(['topics', 'list', '--url', 'not a url']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/--url/);
  });

  it('exits 1 with a clear message when the server cannot be reached', async () => {
    const port = await freePort();
    const down = await cli(['topics', 'list', '--url', `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`Cannot reach the Tributary server at http://127.0.0.1:${port}`);
    expect(down.stderr).toContain('ECONNREFUSED');
    expect(down.stderr).not.toMatch(/\n\s+at /);

    const consume = await cli(['consume', 'x', '--url', `http://127.0.0.1:${port}`]);
    expect(consume.code).toBe(1);
    expect(consume.stderr).toContain('Cannot reach');

    const produceDown = await cli(['produce', 'x', '--url', `http://127.0.0.1:${port}`], { stdin: '1\n' });
    expect(produceDown.code).toBe(1);
    expect(produceDown.stderr).toContain('Cannot reach');
  });

  it('prints help for every command', async () => {
    for (const args of [
      ['--help'],
      ['topics', '--help'],
      ['topics', 'create', '--help'],
      ['topics', 'list', '--help'],
      ['topics', 'describe', '--help'],
      ['topics', 'delete', '--help'],
      ['produce', '--help'],
      ['consume', '--help'],
    ]) {
      const help = await cli(args);
      expect(help.code, args.join(' ')).toBe(0);
      expect(help.stdout).toMatch(/Usage: tributary/);
      if (args.length > 1 && args[0] !== 'topics') expect(help.stdout).toContain('TRIBUTARY_URL');
    }
  });
});

describe('tributary produce and consume', SLOW, () => {
  it('produces stdin lines and consumes the same values back', async () => {
    await createTopic(url, 'cli-flow', { partitions: 2 });
    const input = [
      '{"order":1,"items":["a","b"]}',
      'plain text line',
      '42',
      'null',
      '"a json string"',
      '',
      '[1,{"x":"ü"}]',
      '{broken json',
    ];
    const produced = await cli(['produce', 'cli-flow', '--partition', '1', '--url', url], {
      stdin: `${input.join('\n')}\n`,
    });
    expect(produced.code).toBe(0);
    expect(produced.stderr).toMatch(
      /^Produced 7 record\(s\) to "cli-flow" in 1 request\(s\) \(partitions: 1;/,
    );

    const consumed = await cli(['consume', 'cli-flow', '--from', 'earliest', '--max', '7', '--url', url]);
    expect(consumed.code).toBe(0);
    const records = consumed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { partition: number; offset: number; value: unknown });
    expect(records.map((r) => r.value)).toEqual([
      { order: 1, items: ['a', 'b'] },
      'plain text line',
      42,
      null,
      'a json string',
      [1, { x: 'ü' }],
      '{broken json',
    ]);
    expect(records.map((r) => [r.partition, r.offset])).toEqual(Array.from({ length: 7 }, (_, i) => [1, i]));
  });

  it('splits keys with --key-separator and batches large inputs', async () => {
    await createTopic(url, 'cli-keys', { partitions: 4 });
    const lines = Array.from({ length: 1234 }, (_, i) => `user-${i % 10}|{"n":${i}}`);
    const produced = await cli(['produce', 'cli-keys', '--key-separator', '|', '--url', url], {
      stdin: `${lines.join('\n')}\n`,
    });
    expect(produced.code).toBe(0);
    expect(produced.stderr).toMatch(/Produced 1234 record\(s\) to "cli-keys" in 3 request\(s\)/);

    const consumed = await cli(['consume', 'cli-keys', '--from', 'earliest', '--max', '1234', '--url', url]);
    expect(consumed.code).toBe(0);
    const records = consumed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { partition: number; key: string; value: { n: number } });
    expect(records).toHaveLength(1234);
    // Same key → same partition, and per key the order of the input.
    const partitionOfKey = new Map<string, number>();
    const lastOfKey = new Map<string, number>();
    for (const record of records) {
      expect(record.key).toBe(`user-${record.value.n % 10}`);
      const known = partitionOfKey.get(record.key);
      if (known !== undefined) expect(record.partition).toBe(known);
      partitionOfKey.set(record.key, record.partition);
      expect(record.value.n).toBeGreaterThan(lastOfKey.get(record.key) ?? -1);
      lastOfKey.set(record.key, record.value.n);
    }
  });

  it('consumes one partition from an offset', async () => {
    await createTopic(url, 'cli-from', { partitions: 2 });
    await produce(
      url,
      'cli-from',
      Array.from({ length: 10 }, (_, i) => ({ value: i, partition: i % 2 })),
    );
    const consumed = await cli([
      'consume',
      'cli-from',
      '--partition',
      '1',
      '--from',
      '3',
      '--max',
      '2',
      '--url',
      url,
    ]);
    expect(consumed.code).toBe(0);
    const values = consumed.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { value: number }).value);
    expect(values).toEqual([7, 9]);
  });

  it('exits 0 on SIGINT while waiting for records', async () => {
    await createTopic(url, 'cli-wait');
    const child = spawn(process.execPath, [...cliEntry(), 'consume', 'cli-wait', '--url', url], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
    // Wait until the stream is open (the server counts it), then produce one record and interrupt.
    for (let i = 0; i < 200; i++) {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      if (/tributary_connections\{frontend="sse"\} [1-9]/.test(metrics)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await produce(url, 'cli-wait', [{ value: 'live' }]);
    for (let i = 0; i < 200 && !stdout.includes('live'); i++) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(JSON.parse(stdout.trim()).value).toBe('live');
  });

  it('consumes as a group member: a second run goes on after the committed offset', async () => {
    await createTopic(url, 'cli-group', { partitions: 2 });
    await produce(
      url,
      'cli-group',
      Array.from({ length: 10 }, (_, i) => ({ value: i, partition: i % 2 })),
    );
    const values = (out: string): number[] =>
      out
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { value: number }).value);
    const first = await cli([
      'consume',
      'cli-group',
      '--group',
      'cli-billing',
      '--from',
      'earliest',
      '--max',
      '4',
      '--url',
      url,
    ]);
    expect(first.code).toBe(0);
    // --from earliest: where partitions without a committed offset start (the first run may not
    // have consumed from every partition); committed ones go on after their commit.
    const second = await cli([
      'consume',
      'cli-group',
      '--group',
      'cli-billing',
      '--from',
      'earliest',
      '--max',
      '6',
      '--url',
      url,
    ]);
    expect(second.code).toBe(0);
    expect([...values(first.stdout), ...values(second.stdout)].sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /tributary_consumer_lag_records\{group="cli-billing",topic="cli-group",partition="0"\} 0/,
    );
  });

  it('starts at earliest by default, as the SDK does, and -e exits at the end of the data', async () => {
    await createTopic(url, 'cli-end', { partitions: 3 });
    await produce(
      url,
      'cli-end',
      Array.from({ length: 7 }, (_, i) => ({ value: i, partition: i % 3 })),
    );
    const values = (out: string): number[] =>
      out
        .trim()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => (JSON.parse(line) as { value: number }).value)
        .sort((a, b) => a - b);
    // No --from: everything from earliest; --max larger than what exists still exits with -e.
    const all = await cli(['consume', 'cli-end', '-e', '--max', '100', '--url', url]);
    expect(all.code).toBe(0);
    expect(values(all.stdout)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const one = await cli(['consume', 'cli-end', '--exit-at-end', '--partition', '1', '--url', url]);
    expect(one.code).toBe(0);
    expect(values(one.stdout)).toEqual([1, 4]);
    const latest = await cli(['consume', 'cli-end', '-e', '--from', 'latest', '--url', url]);
    expect(latest.code).toBe(0);
    expect(latest.stdout).toBe('');
    await createTopic(url, 'cli-end-empty');
    const empty = await cli(['consume', 'cli-end-empty', '-e', '--url', url]);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');

    // A group with no committed offset starts at earliest too; a second run finds nothing new.
    const group = await cli(['consume', 'cli-end', '--group', 'cli-end-g', '-e', '--url', url]);
    expect(group.code).toBe(0);
    expect(values(group.stdout)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const again = await cli(['consume', 'cli-end', '--group', 'cli-end-g', '-e', '--url', url]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('');
    await produce(url, 'cli-end', [{ value: 7, partition: 2 }]);
    const more = await cli(['consume', 'cli-end', '--group', 'cli-end-g', '-e', '--url', url]);
    expect(more.code).toBe(0);
    expect(values(more.stdout)).toEqual([7]);
  });

  it('reports errors: unknown topic (1), bad --group combinations (2), bad --from (2)', async () => {
    const unknown = await cli(['consume', 'cli-none', '--url', url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('TOPIC_NOT_FOUND');
    const groupUnknown = await cli(['consume', 'cli-none', '--group', 'g', '--url', url]);
    expect(groupUnknown.code).toBe(1);
    expect(groupUnknown.stderr).toContain('TOPIC_NOT_FOUND');
    const groupPartition = await cli([
      'consume',
      'cli-none',
      '--group',
      'g',
      '--partition',
      '1',
      '--url',
      url,
    ]);
    expect(groupPartition.code).toBe(2);
    const groupOffset = await cli(['consume', 'cli-none', '--group', 'g', '--from', '5', '--url', url]);
    expect(groupOffset.code).toBe(2);
    const badFrom = await cli(['consume', 'cli-none', '--from', 'yesterday', '--url', url]);
    expect(badFrom.code).toBe(2);
    const produceUnknown = await cli(['produce', 'cli-none', '--url', url], { stdin: '1\n' });
    expect(produceUnknown.code).toBe(1);
    expect(produceUnknown.stderr).toContain('TOPIC_NOT_FOUND');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
    probe.on('error', reject);
  });
}
