/**
 * The publisher's share of the end-to-end latency: one SDK producer (`lingerMs: 0`, as in the
 * latency workload) sends 100 B records at a fixed rate, paced like `bench/workers/senders.ts`
 * (a 1 ms tick), to Tributary's built server (`dist/cli/main.js serve`, a 1-partition topic with
 * `fsync: 'interval'`), and for each record after the first half second it notes
 *
 * - **wait**: `send()` → the `appendBatch` frame carrying it handed to the socket: what the
 *   producer adds before the record is even on its way (a batch waiting for room in flight);
 * - **ack**: `send()` → its promise resolved (the round trip, append included).
 *
 * The timestamps come from a transport wrapped around the SDK's own (`TransportFactory`), so the
 * SDK runs unchanged. `--roots A,B` runs the SDK and server of each project root (each built:
 * `npm run build`), `--rounds` times, alternating the order every round (A B, B A, …): an A/B of
 * two trees that a loaded machine distorts less than two separate runs.
 *
 *   npx tsx bench/producer-wait-probe.ts [--rate 10000] [--duration-ms 8000] [--roots DIR,DIR] [--rounds 2]
 *
 * A plain script, never a test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { positiveNumber } from './lib/options.js';
import { freePort, LOOPBACK, ProcessGroup, sleep, waitForPort } from './lib/procs.js';
import { Samples } from './lib/stats.js';
import { formatMs } from './lib/table.js';
import { BUILT_CLI, staleReason } from './systems/build.js';
import { serveArgs, serverNodeFlags } from './systems/tributary.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const WARMUP_MS = 500;
const TICK_MS = 1;
const SIZE = 100;

interface Options {
  rate: number;
  durationMs: number;
  roots: string[];
  rounds: number;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { rate: 10_000, durationMs: 8_000, roots: [PROJECT_ROOT], rounds: 1 };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    const number = (): number => positiveNumber(argv[i]!, argv[++i]);
    switch (argv[i]) {
      case '--rate':
        options.rate = number();
        break;
      case '--duration-ms':
        options.durationMs = number();
        break;
      case '--rounds':
        options.rounds = number();
        break;
      case '--roots':
        if (value === undefined) throw new Error('--roots needs DIR,DIR');
        options.roots = value.split(',').map((dir) => resolve(dir));
        i++;
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return options;
}

/** The part of the SDK and the frame codec the probe uses, loaded from a project root. */
interface Sdk {
  connect(options: { url: string; transport: unknown; reconnect: false }): Promise<{
    producer(options: { topic: string; lingerMs: number }): {
      send(record: { value: Uint8Array }): Promise<unknown>;
      flush(): Promise<void>;
    };
    close(): Promise<void>;
  }>;
  nodeWebSocketTransport(): (url: string, events: unknown) => WrappedTransport;
}
interface WrappedTransport {
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  readonly bufferedAmount: number;
}
interface Frames {
  decodeClientFrame(data: Uint8Array | string): { frame: { type: string; records?: readonly unknown[] } };
}

async function probeOnce(root: string, options: Options, group: ProcessGroup): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-wait-probe-'));
  const port = await freePort();
  const server = group.spawn(
    'tributary server',
    process.execPath,
    [...serverNodeFlags(), join(root, BUILT_CLI), ...serveArgs(port, dir)],
    { logFile: join(dir, 'server.log'), cwd: root },
  );
  try {
    await waitForPort(port, server);
    const base = `http://${LOOPBACK}:${port}`;
    const created = await fetch(`${base}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'wait', partitions: 1, fsync: 'interval' }),
    });
    if (created.status !== 201) throw new Error(`creating the topic: HTTP ${created.status}`);
    const sdk = (await import(pathToFileURL(join(root, 'src/client/node/index.ts')).href)) as Sdk;
    const frames = (await import(pathToFileURL(join(root, 'src/protocol/native/frames.ts')).href)) as Frames;

    // When each record's appendBatch frame was handed to the socket, by record index.
    const onWireAt = new Samples();
    const inner = sdk.nodeWebSocketTransport();
    const transport = (url: string, events: unknown): WrappedTransport => {
      const socket = inner(url, events);
      return {
        send(data) {
          const { frame } = frames.decodeClientFrame(data);
          if (frame.type === 'appendBatch') {
            const now = performance.now();
            for (let i = 0; i < frame.records!.length; i++) onWireAt.push(now);
          }
          socket.send(data);
        },
        close: (code, reason) => socket.close(code, reason),
        get bufferedAmount() {
          return socket.bufferedAmount;
        },
      };
    };
    const client = await sdk.connect({ url: `ws://${LOOPBACK}:${port}/v1/ws`, transport, reconnect: false });
    try {
      const producer = client.producer({ topic: 'wait', lingerMs: 0 });
      const payload = new Uint8Array(SIZE).fill(0x78);
      await producer.send({ value: payload }); // topic and producer id known before the clock starts
      const offset = onWireAt.length;
      const total = Math.round((options.rate * options.durationMs) / 1000);
      const sentAt = new Float64Array(total);
      const ackedAt = new Float64Array(total);
      const start = performance.now();
      let sent = 0;
      while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - start) * options.rate) / 1000) + 1);
        while (sent < due) {
          const index = sent++;
          sentAt[index] = performance.now();
          void producer.send({ value: payload }).then(() => {
            ackedAt[index] = performance.now();
          });
        }
        await sleep(TICK_MS);
      }
      await producer.flush();
      const wireAt = onWireAt.values();
      const wait = new Samples();
      const ack = new Samples();
      for (let i = Math.round((options.rate * WARMUP_MS) / 1000); i < total; i++) {
        wait.push(wireAt[offset + i]! - sentAt[i]!);
        ack.push(ackedAt[i]! - sentAt[i]!);
      }
      const w = wait.summarize();
      const a = ack.summarize();
      return (
        `wait p50 ${formatMs(w.p50)} p90 ${formatMs(w.p90)} p99 ${formatMs(w.p99)} max ${formatMs(w.max)} ms · ` +
        `ack p50 ${formatMs(a.p50)} p99 ${formatMs(a.p99)} ms · ${wireAt.length - offset} records`
      );
    } finally {
      await client.close();
    }
  } finally {
    await group.stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  for (const root of options.roots) {
    const stale = staleReason(root);
    if (stale !== undefined) throw new Error(`${root}: ${stale}; run npm run build there first`);
  }
  const group = new ProcessGroup();
  group.installExitHooks();
  console.log(
    `producer wait probe: ${options.rate} msgs/s for ${options.durationMs} ms, load ${loadavg()[0]!.toFixed(1)}`,
  );
  try {
    for (let round = 0; round < options.rounds; round++) {
      const roots = round % 2 === 0 ? options.roots : [...options.roots].reverse();
      for (const root of roots) {
        const line = await probeOnce(root, options, group);
        console.log(`${root} · load ${loadavg()[0]!.toFixed(1)} · ${line}`);
      }
    }
  } finally {
    await group.stopAll();
  }
}

main().catch((error: unknown) => {
  console.error('producer wait probe failed:', error);
  process.exitCode = 1;
});
