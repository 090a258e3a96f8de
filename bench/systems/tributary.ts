/**
 * @module bench/systems/tributary
 * Tributary as one system among the others: the server is the real CLI, built, in its own
 * process (`node --initial-old-space-size=64 dist/cli/main.js serve --port P --data DIR`, what
 * `npm start` runs, Node flags included: `src/cli/node-flags.ts`; the harness
 * builds first if `dist/` is older than the sources, see {@link ./build.ts}), topics are created and deleted
 * over the HTTP API (`POST /v1/topics`, `DELETE /v1/topics/{name}`), and the load generators use
 * the client SDK's Node entry (`src/client/node/index.ts`: `connect({ url })` → `producer()`,
 * `consumer()`) over the native WebSocket protocol at `/v1/ws`.
 *
 * - publish: `durable` is a topic with `fsync: 'interval'`, `always` one with `fsync: 'always'`.
 * - latency, fan-out and replay: consumers of a 1-partition topic (`from: 'latest'` / `'earliest'`).
 *
 * The SDK is loaded lazily ({@link ./tributary-client.ts}); until it exists the system is
 * reported as "skipped: SDK not ready".
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { extraNodeFlags, SERVER_START_TIMEOUT_MS } from '../lib/procs.js';
import { BUILT_CLI, ensureBuilt } from './build.js';
import { startNodeBuilt } from './node-server.js';
import type { Capabilities, ScaleOutSystemId, StartContext, SystemModule, Target } from './types.js';

/** The SDK's Node entry, relative to the project root. */
export const SDK_ENTRY = 'src/client/node/index.ts';

function baseUrl(target: Target): string {
  return `http://${target.endpoint.host}:${target.endpoint.port}`;
}

async function http(method: string, url: string, body?: unknown, apiKey?: string): Promise<Response> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  const response = await fetch(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  return response;
}

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What sets a Tributary variant apart (`tributary`, `tributary-auth`, `tributary-jetstream`, the scale-out ones). */
export interface TributaryVariant {
  readonly id: 'tributary' | 'tributary-auth' | 'tributary-jetstream' | ScaleOutSystemId;
  readonly label: string;
  readonly description: string;
  /**
   * Extra `serve` arguments, prepared in the server's directory (e.g. an auth file); processes
   * the variant needs (a nats-server) are started with `context.spawn`, so the harness stops them.
   */
  serveArgs(dir: string, context: StartContext): Promise<string[]>;
  /** The API key the admin calls and the load generators authenticate with, if any. */
  readonly apiKey?: string;
  /** Default: every workload, publish with both durabilities. */
  readonly capabilities?: Capabilities;
  /** How long the server may take to listen (default {@link SERVER_START_TIMEOUT_MS}). */
  readonly startTimeoutMs?: number;
}

/** The `serve` arguments every variant shares, after which its own come. */
export function serveArgs(port: number, dir: string): string[] {
  return ['serve', '--port', String(port), '--data', dir, '--host', '127.0.0.1', '--log-level', 'warn'];
}

/** The Node flags Tributary's server runs with (`npm start`'s, plus TRIBUTARY_BENCH_SERVER_FLAGS). */
export function serverNodeFlags(): string[] {
  return [...SERVER_NODE_FLAGS, ...extraNodeFlags('TRIBUTARY_BENCH_SERVER_FLAGS')];
}

/** The Tributary system module of one variant. */
export function tributarySystem(variant: TributaryVariant): SystemModule {
  const apiKey = variant.apiKey;
  return {
    id: variant.id,
    label: variant.label,
    description: variant.description,
    ...(apiKey === undefined ? {} : { endpointApiKey: apiKey }),
    capabilities: variant.capabilities ?? {
      publish: ['durable', 'always'],
      latency: 'log',
      fanout: 'log',
      replay: true,
    },
    async unavailable() {
      const { sdkProblem } = await import('./tributary-client.js');
      return (await sdkProblem()) ?? ensureBuilt(PROJECT_ROOT);
    },
    async start(context) {
      const extra = await variant.serveArgs(context.dir, context);
      // With the Node flags `npm start` uses (src/cli/node-flags.ts).
      return startNodeBuilt(
        context,
        'tributary server',
        BUILT_CLI,
        [...serveArgs(context.port, context.dir), ...extra],
        serverNodeFlags(),
        { port: context.port, timeoutMs: variant.startTimeoutMs ?? SERVER_START_TIMEOUT_MS },
      );
    },
    async prepare(target, durability) {
      const response = await http(
        'POST',
        `${baseUrl(target)}/v1/topics`,
        { name: target.topic, partitions: 1, fsync: durability === 'always' ? 'always' : 'interval' },
        apiKey,
      );
      if (response.status !== 201) {
        throw new Error(`creating topic ${target.topic}: HTTP ${response.status} ${await response.text()}`);
      }
    },
    async cleanup(target) {
      const response = await http(
        'DELETE',
        `${baseUrl(target)}/v1/topics/${encodeURIComponent(target.topic)}`,
        undefined,
        apiKey,
      );
      await response.arrayBuffer();
    },
    async loadClient() {
      const { loadTributaryClient } = await import('./tributary-client.js');
      return loadTributaryClient();
    },
    async version(context) {
      const manifest = join(context.projectRoot, 'package.json');
      if (!existsSync(manifest)) return 'tributary';
      const { readFile } = await import('node:fs/promises');
      const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
      return `tributary ${version} (built, node dist/cli/main.js)`;
    },
  };
}

export const tributary: SystemModule = tributarySystem({
  id: 'tributary',
  label: 'tributary',
  description:
    'Tributary server (built: node --initial-old-space-size=64 dist/cli/main.js serve, file log) via the client SDK over the native WebSocket protocol',
  serveArgs: async () => [],
});
