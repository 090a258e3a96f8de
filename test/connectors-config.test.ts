/**
 * Connectors declared in the server's config file (`"connectors": [...]`): created at the first
 * start, left alone when unchanged, updated in place (position kept) when their config changes,
 * kept running but no longer `declared` when removed from the file; a bad declaration stops the
 * start and changes nothing. In-process servers with the `topic-copy` fixture connector, then the
 * real `tributary serve --config` with a webhook sink.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../src/broker/testing/helpers.js';
import { isTributaryError } from '../src/errors.js';
import { cli } from './cli-helpers.js';
import { copyConnector } from './fixtures/copy-connector.js';
import { freePort, killServer, startServerProcess } from './fixtures/server-process.js';
import { call, createTopic, produce, start, type TestServer, tempDir } from './http-helpers.js';

interface Status {
  name: string;
  state: string;
  position: string | null;
  declared?: true;
}

/** A logger whose JSON lines the test reads (the declare summary is logged at start). */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function declaredSummary(lines: readonly Record<string, unknown>[]): Record<string, unknown> | undefined {
  return lines.find((line) => line.msg === 'connectors of the config file declared');
}

const copy = (name: string, from: string, to: string) => ({ name, type: 'topic-copy', config: { from, to } });

async function recordsOf(url: string, topic: string): Promise<string[]> {
  const answer = await call<{ records: { value: unknown }[] }>(
    url,
    'GET',
    `/v1/topics/${topic}/partitions/0/records?offset=0&max=100`,
  );
  return answer.status === 200 ? answer.body.records.map((r) => String(r.value)) : [];
}

describe('connectors in the config file', { timeout: 120_000 }, () => {
  let server: TestServer | undefined;
  const dirs: { remove(): Promise<void> }[] = [];
  afterEach(async () => {
    await server?.close();
    server = undefined;
    for (const dir of dirs.splice(0)) await dir.remove();
  });

  const boot = async (dataDir: string, connectors: readonly unknown[]) => {
    const { logger, lines } = capturingLogger();
    server = await start(dataDir, { connectorTypes: [copyConnector], connectors, logger });
    return { url: server.url, lines };
  };
  const restart = async (dataDir: string, connectors: readonly unknown[]) => {
    await server?.close();
    server = undefined;
    return boot(dataDir, connectors);
  };

  it('creates, keeps, updates in place and lets go of declared connectors across restarts', async () => {
    const dir = await tempDir('tributary-connectors-config-');
    dirs.push(dir);
    let { url, lines } = await boot(dir.path, [
      copy('copy-a', 'in-a', 'out-a'),
      copy('copy-b', 'in-b', 'out-b'),
    ]);
    expect(declaredSummary(lines)).toMatchObject({
      created: ['copy-a', 'copy-b'],
      updated: [],
      unchanged: [],
    });
    await produce(url, 'in-a', [{ value: 'a1' }, { value: 'a2' }]);
    await eventually(async () => expect(await recordsOf(url, 'out-a')).toEqual(['a1', 'a2']), 20_000);
    const listed = (await call<{ connectors: Status[] }>(url, 'GET', '/v1/connectors')).body.connectors;
    expect(listed.map((c) => [c.name, c.declared])).toEqual([
      ['copy-a', true],
      ['copy-b', true],
    ]);
    // A user pause survives an unchanged declaration.
    await call(url, 'POST', '/v1/connectors/copy-b/pause', {});

    // The same file again: nothing is written or restarted from scratch.
    ({ url, lines } = await restart(dir.path, [
      copy('copy-b', 'in-b', 'out-b'),
      copy('copy-a', 'in-a', 'out-a'),
    ]));
    expect(declaredSummary(lines)).toMatchObject({
      created: [],
      updated: [],
      unchanged: ['copy-b', 'copy-a'],
    });
    expect((await call<Status>(url, 'GET', '/v1/connectors/copy-b')).body.state).toBe('paused');

    // copy-a now copies to out-a2 (from its position: a1 and a2 are not copied again); copy-b is dropped.
    ({ url, lines } = await restart(dir.path, [copy('copy-a', 'in-a', 'out-a2')]));
    expect(declaredSummary(lines)).toMatchObject({ updated: ['copy-a'], undeclared: ['copy-b'] });
    await produce(url, 'in-a', [{ value: 'a3' }]);
    await eventually(async () => expect(await recordsOf(url, 'out-a2')).toEqual(['a3']), 20_000);
    expect(await recordsOf(url, 'out-a')).toEqual(['a1', 'a2']);
    const b = (await call<Status>(url, 'GET', '/v1/connectors/copy-b')).body;
    expect(b).toMatchObject({ name: 'copy-b', state: 'paused' });
    expect(b.declared).toBeUndefined();

    // A file with no connectors key leaves everything as it is.
    await server?.close();
    server = await start(dir.path, { connectorTypes: [copyConnector] });
    const kept = (await call<{ connectors: Status[] }>(server.url, 'GET', '/v1/connectors')).body.connectors;
    expect(kept.map((c) => [c.name, c.declared])).toEqual([
      ['copy-a', true],
      ['copy-b', undefined],
    ]);
  });

  it('refuses a bad declaration at start, naming it, and changes nothing', async () => {
    const dir = await tempDir('tributary-connectors-config-');
    dirs.push(dir);
    await boot(dir.path, [copy('copy-a', 'in-a', 'out-a')]);
    await server?.close();
    server = undefined;
    const bad: [unknown[], RegExp][] = [
      [
        [copy('copy-a', 'in-a', 'out-a'), { name: 'x', type: 'topic-copy', config: { from: 'a' } }],
        /connectors\[1\] "x": /,
      ],
      [[{ name: 'y', type: 'mystery', config: {} }], /connectors\[0\] "y": unknown connector type "mystery"/],
      [[copy('z', 'a', 'b'), copy('z', 'a', 'c')], /connector "z" is declared twice/],
      [
        [{ name: 'copy-a', type: 'webhook-sink', config: { topics: ['t'], url: 'http://127.0.0.1:9/' } }],
        /exists as type "topic-copy"/,
      ],
      [
        [{ name: '__x', type: 'topic-copy', config: { from: 'a', to: 'b' } }],
        /connectors\[0\] "__x": "name" must be/,
      ],
    ];
    for (const [connectors, message] of bad) {
      const failure = await start(dir.path, { connectorTypes: [copyConnector], connectors }).then(
        async (started) => {
          await started.close();
          return undefined;
        },
        (error: unknown) => error,
      );
      expect(isTributaryError(failure, 'INVALID_SETTING'), String(failure)).toBe(true);
      expect((failure as Error).message).toMatch(message);
    }
    server = await start(dir.path, { connectorTypes: [copyConnector] });
    const list = (await call<{ connectors: Status[] }>(server.url, 'GET', '/v1/connectors')).body.connectors;
    expect(list.map((c) => c.name)).toEqual(['copy-a']);
  });

  it('tributary serve --config declares its connectors; a malformed list exits 2', async () => {
    const dir = await tempDir('tributary-connectors-config-');
    dirs.push(dir);
    const configPath = join(dir.path, 'tributary.json');
    const hook = {
      name: 'hook',
      type: 'webhook-sink',
      config: { topics: ['events'], url: 'http://127.0.0.1:9/hook' },
    };
    await writeFile(configPath, JSON.stringify({ logLevel: 'info', connectors: [hook] }));
    const port = await freePort();
    const serve = await startServerProcess(join(dir.path, 'data'), port, { args: ['--config', configPath] });
    try {
      const url = `http://127.0.0.1:${port}`;
      await createTopic(url, 'events').catch(() => undefined);
      const list = await cli(['connectors', 'list', '--json', '--url', url]);
      expect(JSON.parse(list.stdout)).toMatchObject([{ name: 'hook', type: 'webhook-sink', declared: true }]);
    } finally {
      await killServer(serve, 'SIGTERM');
    }
    await writeFile(configPath, JSON.stringify({ connectors: { hook } }));
    const refused = await cli([
      'serve',
      '--config',
      configPath,
      '--data',
      join(dir.path, 'data'),
      '--port',
      '0',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('"connectors" must be an array');
  });
});
