/**
 * `tributary connectors` as a user runs it: the real CLI (child process) against a real server
 * running a webhook sink into a local receiver, so list, show, pause, resume and delete are seen
 * moving (or not moving) real records.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../src/broker/testing/helpers.js';
import { cli } from './cli-helpers.js';
import { call, createTopic, produce, sleep, start, type TestServer, tempDir } from './http-helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: TestServer;
let receiver: Server;
let hookUrl: string;
const received: string[] = [];

beforeAll(async () => {
  dir = await tempDir('tributary-cli-connectors-');
  server = await start(dir.path);
  receiver = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      // The HTTP API stores a JSON value as its JSON text.
      received.push(JSON.parse((JSON.parse(body) as { value: string }).value) as string);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await server.close();
  await new Promise((resolve) => receiver.close(resolve));
  await dir.remove();
});

describe('tributary connectors', { timeout: 180_000 }, () => {
  it('creates from flags, lists state, position and lag, shows, pauses, resumes and deletes', async () => {
    const url = server.url;
    await createTopic(url, 'cli-hook');
    const created = await cli([
      'connectors',
      'create',
      'hook-a',
      '--type',
      'webhook-sink',
      '--set',
      'topics=["cli-hook"]',
      '--set',
      `url=${hookUrl}`,
      '--set',
      'maxAttempts=3',
      '--url',
      url,
    ]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toBe('Created connector "hook-a" (webhook-sink, sink): starting.\n');

    await produce(url, 'cli-hook', [{ value: 'one' }, { value: 'two' }, { value: 'three' }]);
    await eventually(() => expect(received).toEqual(['one', 'two', 'three']), 30_000);
    await eventually(async () => {
      const list = await cli(['connectors', 'list', '--url', url]);
      expect(list.code).toBe(0);
      const [header, row] = list.stdout.trim().split('\n');
      expect(header).toMatch(/^NAME\s+TYPE\s+STATE\s+POSITION\s+LAG\s+RECORDS\s+ERROR$/);
      expect(row).toMatch(/^hook-a\s+webhook-sink\s+running\s+cli-hook\/0:3\s+0\s+3$/);
    }, 30_000);

    const shown = await cli(['connectors', 'show', 'hook-a', '--url', url]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Connector: hook-a\n  type: webhook-sink (sink)\n  state: running');
    expect(shown.stdout).toContain('  position: cli-hook/0:3\n  lag: 0\n  records: 3');
    const json = await cli(['connectors', 'show', 'hook-a', '--json', '--url', url]);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'hook-a', state: 'running', lag: 0 });

    const paused = await cli(['connectors', 'pause', 'hook-a', '--url', url]);
    expect(paused).toMatchObject({ code: 0, stdout: 'Paused connector "hook-a": paused.\n' });
    await produce(url, 'cli-hook', [{ value: 'four' }]);
    await sleep(1500);
    expect(received).toHaveLength(3); // nothing moves while paused
    const listPaused = await cli(['connectors', 'list', '--url', url]);
    expect(listPaused.stdout).toMatch(/\nhook-a\s+webhook-sink\s+paused\s/);

    const resumed = await cli(['connectors', 'resume', 'hook-a', '--json', '--url', url]);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ name: 'hook-a' });
    await eventually(() => expect(received).toEqual(['one', 'two', 'three', 'four']), 30_000);

    const deleted = await cli(['connectors', 'delete', 'hook-a', '--url', url]);
    expect(deleted).toMatchObject({ code: 0, stdout: 'Deleted connector "hook-a".\n' });
    expect((await call(url, 'GET', '/v1/connectors/hook-a')).status).toBe(404);
    const gone = await cli(['connectors', 'show', 'hook-a', '--url', url]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error: CONNECTOR_NOT_FOUND: /);
    const empty = await cli(['connectors', 'list', '--url', url]);
    expect(empty.stdout).toBe('No connectors.\n');
  });

  it('creates from a spec file or stdin, flags overriding its fields', async () => {
    const url = server.url;
    const specFile = join(dir.path, 'spec.json');
    const spec = { name: 'from-file', type: 'webhook-sink', config: { topics: ['cli-file'], url: hookUrl } };
    await writeFile(specFile, JSON.stringify(spec));
    const fromFile = await cli([
      'connectors',
      'create',
      '-f',
      specFile,
      '--set',
      'maxAttempts=2',
      '--url',
      url,
    ]);
    expect(fromFile).toMatchObject({ code: 0, stderr: '' });
    const stored = await call<{ name: string; type: string }>(url, 'GET', '/v1/connectors/from-file');
    expect(stored.body).toMatchObject({ name: 'from-file', type: 'webhook-sink' });

    const fromStdin = await cli(['connectors', 'create', 'renamed', '--file', '-', '--json', '--url', url], {
      stdin: JSON.stringify(spec),
    });
    expect(fromStdin.code).toBe(0);
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({ name: 'renamed', kind: 'sink' });
    const list = await cli(['connectors', 'list', '--json', '--url', url]);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((c) => c.name)).toEqual([
      'from-file',
      'renamed',
    ]);
    for (const name of ['from-file', 'renamed']) {
      expect((await cli(['connectors', 'delete', name, '--url', url])).code).toBe(0);
    }
  });

  it('exits 2 on bad usage and 1 with the server error for a bad spec', async () => {
    const url = server.url;
    const noType = await cli(['connectors', 'create', 'x', '--url', url]);
    expect(noType.code).toBe(2);
    expect(noType.stderr).toContain('a connector type is needed');
    const badJson = await cli([
      'connectors',
      'create',
      'x',
      '--type',
      'webhook-sink',
      '--config',
      '{nope',
      '--url',
      url,
    ]);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--config is not valid JSON');
    const badSet = await cli([
      'connectors',
      'create',
      'x',
      '--type',
      'webhook-sink',
      '--set',
      'novalue',
      '--url',
      url,
    ]);
    expect(badSet.code).toBe(2);
    const unknownType = await cli(['connectors', 'create', 'x', '--type', 'mystery', '--url', url]);
    expect(unknownType.code).toBe(1);
    expect(unknownType.stderr).toMatch(
      /INVALID_ARGUMENT: .*unknown connector type "mystery" \(known: .*webhook-sink/,
    );
    const badConfig = await cli([
      'connectors',
      'create',
      'x',
      '--type',
      'webhook-sink',
      '--set',
      'url=ftp://x',
      '--set',
      'topics=["t"]',
      '--url',
      url,
    ]);
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toContain('config.url must be an http: or https: URL');
    expect((await call(url, 'GET', '/v1/connectors/x')).status).toBe(404);
  });
});
