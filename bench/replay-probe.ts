/**
 * Where replay's time goes, and an A/B of two builds: the main suite's replay (N stored 100 B
 * records read from the start by one SDK consumer in a process other than the writer's,
 * `bench/workloads/replay.ts`) run against the built server of each given project root in turn,
 * alternating the order every round, measuring over the read only:
 *
 * - records/s (first `consumer()` call to the last record);
 * - the server's CPU time (user + system, from /proc) per record;
 * - the reading process's CPU time per record (the SDK's decode is part of every replay);
 * - both processes' minor page faults per 1,000 records: fresh memory the kernel maps in. The
 *   reader's CPU per record follows them (see docs/benchmarks.md, "the reader's page faults").
 *
 * CPU per record holds up on a loaded machine better than records/s do: compare builds with it.
 *
 *   npx tsx bench/replay-probe.ts [--roots DIR,DIR] [--records 1000000] [--size 100]
 *     [--rounds 3] [--credit 10000] [--profile DIR]
 *
 * `--roots` defaults to this project; each root needs a built `dist/` (`npm run build`) and its
 * SDK sources, and the reader uses the SDK of the same root. `--profile DIR` starts the servers
 * and readers with `--cpu-prof` (summarize with `npx tsx bench/lib/cpuprofile-top.ts FILE`).
 * A plain script, never a test.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { encodePayload } from './lib/payload.js';
import { freePort, LOOPBACK, ProcessGroup, waitForPort } from './lib/procs.js';
import { cpuStopwatch, processCpuMs, processMinorFaults } from './lib/system.js';
import { formatInt } from './lib/table.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

interface SdkRecord {
  readonly offset: number;
  readonly value: Uint8Array | null;
}

interface SdkClient {
  producer(options: { readonly topic: string; readonly lingerMs?: number }): {
    send(record: { readonly value: Uint8Array }): Promise<unknown>;
    flush(): Promise<void>;
  };
  consumer(options: {
    readonly topic: string;
    readonly from?: 'earliest';
    readonly creditRecords?: number;
  }): {
    readonly ready: Promise<void>;
    on(event: 'records', listener: (records: SdkRecord[]) => void): unknown;
    on(event: 'error', listener: (error: unknown) => void): unknown;
  };
  close(): Promise<void>;
}

async function connectSdk(root: string, url: string): Promise<SdkClient> {
  const sdk = (await import(pathToFileURL(join(root, 'src/client/node/index.ts')).href)) as {
    connect(options: { url: string; reconnect: false }): Promise<SdkClient>;
  };
  return sdk.connect({ url, reconnect: false });
}

/** The reading process: replays `count` records and prints one JSON line. */
async function childReplay(argv: readonly string[]): Promise<void> {
  const [root, url, topic, countText, creditText] = argv;
  const count = Number(countText);
  const client = await connectSdk(root!, url!);
  const cpu = cpuStopwatch();
  const faultsBefore = process.resourceUsage().minorPageFault;
  const start = performance.now();
  let records = 0;
  let expected = 0;
  await new Promise<void>((done, fail) => {
    const consumer = client.consumer({ topic: topic!, from: 'earliest', creditRecords: Number(creditText) });
    consumer.on('error', fail);
    consumer.on('records', (batch) => {
      for (const record of batch) {
        // No gap, no duplicate, in order: the probe checks what it measures.
        if (record.offset !== expected) fail(new Error(`offset ${record.offset}, expected ${expected}`));
        expected++;
      }
      records += batch.length;
      if (records >= count) done();
    });
    consumer.ready.catch(fail);
  });
  const elapsedMs = performance.now() - start;
  const cpuMs = cpu();
  const minorFaults = process.resourceUsage().minorPageFault - faultsBefore;
  await client.close();
  process.stdout.write(`${JSON.stringify({ records, elapsedMs, cpuMs, minorFaults })}\n`);
}

interface Options {
  roots: string[];
  records: number;
  size: number;
  rounds: number;
  credit: number;
  profileDir: string | undefined;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string): string | undefined => {
    const index = argv.indexOf(flag);
    return index === -1 ? undefined : argv[index + 1];
  };
  return {
    roots: (value('--roots') ?? PROJECT_ROOT).split(',').map((root) => resolve(root)),
    records: Number(value('--records') ?? 1_000_000),
    size: Number(value('--size') ?? 100),
    rounds: Number(value('--rounds') ?? 3),
    credit: Number(value('--credit') ?? 10_000),
    profileDir: value('--profile'),
  };
}

interface Measurement {
  readonly recordsPerSec: number;
  readonly serverUsPerRecord: number;
  readonly readerUsPerRecord: number;
  readonly serverFaultsPer1k: number;
  readonly readerFaultsPer1k: number;
}

async function fill(client: SdkClient, topic: string, records: number, size: number): Promise<void> {
  const producer = client.producer({ topic, lingerMs: 0 });
  const window: Promise<unknown>[] = [];
  for (let seq = 0; seq < records; seq++) {
    window.push(producer.send({ value: encodePayload(size, 1, seq, 0) }));
    if (window.length >= 5000) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await producer.flush();
}

function runReader(args: readonly string[], flags: readonly string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...flags, '--import', 'tsx', SELF, '--child-replay', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', fail);
    child.once('exit', (code) => (code === 0 ? done(out) : fail(new Error(`reader exited with ${code}`))));
  });
}

async function measureOnce(root: string, options: Options, label: string): Promise<Measurement> {
  const group = new ProcessGroup();
  const dir = mkdtempSync(join(tmpdir(), 'tributary-replay-probe-'));
  const profile =
    options.profileDir === undefined
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${join(options.profileDir, label)}`];
  try {
    const port = await freePort();
    const serverArgs = [
      join(root, 'dist/cli/main.js'),
      'serve',
      '--port',
      String(port),
      '--data',
      dir,
      '--host',
      LOOPBACK,
      '--log-level',
      'warn',
    ];
    const start = async (flags: readonly string[]) => {
      const child = group.spawn(
        'tributary server',
        process.execPath,
        [...SERVER_NODE_FLAGS, ...flags, ...serverArgs],
        {
          logFile: join(dir, 'server.log'),
        },
      );
      await waitForPort(port, child, 30_000);
      return child;
    };
    // Profiled, the server is restarted on the filled data so that its profile is the replay's.
    let server = await start([]);
    const base = `http://${LOOPBACK}:${port}`;
    const topic = 'replay';
    const created = await fetch(`${base}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: topic, partitions: 1, fsync: 'interval' }),
    });
    if (created.status !== 201) throw new Error(`creating the topic: HTTP ${created.status}`);
    const writer = await connectSdk(root, `ws://${LOOPBACK}:${port}/v1/ws`);
    await fill(writer, topic, options.records, options.size);
    await writer.close();
    if (profile.length > 0) {
      await group.stopAll();
      server = await start(profile);
    }
    const serverBefore = processCpuMs(server.pid);
    const serverFaultsBefore = processMinorFaults(server.pid);
    const out = await runReader(
      [root, `ws://${LOOPBACK}:${port}/v1/ws`, topic, String(options.records), String(options.credit)],
      profile,
    );
    const serverMs = processCpuMs(server.pid) - serverBefore;
    const serverFaults = processMinorFaults(server.pid) - serverFaultsBefore;
    const read = JSON.parse(out.trim().split('\n').at(-1)!) as {
      records: number;
      elapsedMs: number;
      cpuMs: number;
      minorFaults: number;
    };
    return {
      recordsPerSec: (read.records * 1000) / read.elapsedMs,
      serverUsPerRecord: (serverMs * 1000) / read.records,
      readerUsPerRecord: (read.cpuMs * 1000) / read.records,
      serverFaultsPer1k: (serverFaults * 1000) / read.records,
      readerFaultsPer1k: (read.minorFaults * 1000) / read.records,
    };
  } finally {
    await group.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.profileDir !== undefined) mkdirSync(options.profileDir, { recursive: true });
  const results = options.roots.map(() => [] as Measurement[]);
  process.stderr.write(`load average at start: ${loadavg()[0]!.toFixed(1)}\n`);
  for (let round = 0; round < options.rounds; round++) {
    const order = options.roots.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    for (const index of order) {
      const m = await measureOnce(options.roots[index]!, options, `root${index}-round${round}`);
      results[index]!.push(m);
      process.stderr.write(
        `round ${round + 1} ${options.roots[index]}: ${formatInt(m.recordsPerSec)} records/s, server ${m.serverUsPerRecord.toFixed(2)} µs/record, reader ${m.readerUsPerRecord.toFixed(2)} µs/record; page faults per 1k records: server ${m.serverFaultsPer1k.toFixed(1)}, reader ${m.readerFaultsPer1k.toFixed(1)}\n`,
      );
    }
  }
  process.stdout.write(
    `\nreplay ${formatInt(options.records)} × ${options.size} B, ${options.rounds} rounds (median [min–max]); load average now ${loadavg()[0]!.toFixed(1)}\n`,
  );
  options.roots.forEach((root, index) => {
    const runs = results[index]!;
    const show = (pick: (m: Measurement) => number, digits: number): string => {
      const values = runs.map(pick);
      const f = (v: number): string => (digits === 0 ? formatInt(v) : v.toFixed(digits));
      return `${f(median(values))} [${f(Math.min(...values))}–${f(Math.max(...values))}]`;
    };
    process.stdout.write(
      `${root}\n  records/s ${show((m) => m.recordsPerSec, 0)}\n  server µs/record ${show((m) => m.serverUsPerRecord, 2)}\n  reader µs/record ${show((m) => m.readerUsPerRecord, 2)}\n  page faults per 1k records: server ${show((m) => m.serverFaultsPer1k, 1)}, reader ${show((m) => m.readerFaultsPer1k, 1)}\n`,
    );
  });
}

if (process.argv[2] === '--child-replay') {
  await childReplay(process.argv.slice(3));
} else {
  await main();
}
