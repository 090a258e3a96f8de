/**
 * The hop between the Socket.IO servers, without Socket.IO: what the Tributary adapter's own
 * clients wait for (an append's round trip, the record coming back to the connection that appended
 * it) and what the other server's wait for (the record reaching a second connection), against
 * Redis pub/sub's publish reaching a subscriber. One process plays both servers: connection A has
 * a producer (`lingerMs: 0`) and a consumer of the topic, as the adapter's bus; connection B a
 * consumer. Records of about 100 B at a fixed rate (20/s by default), the brokers alternating in
 * rounds: Tributary's server from the sources through tsx (`tsx`), the same built as `npm start`
 * runs it (`built`; `--built-only` leaves `tsx` out), and Redis. Per round the median and p99 of
 * each hop, the broker's CPU per record (/proc), and for Tributary its main thread's and other
 * threads' user and system CPU per record.
 *
 *   npx tsx bench/socketio-hop-probe.ts [--rate 20] [--records 300] [--rounds 3] [--built-only]
 *     [--profile DIR] [--server-flags "--trace-gc"] [--keep]
 *
 * A plain script, never a test.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { connect } from '../src/client/node/index.js';
import { numberOption, optionValue } from './lib/options.js';
import { findBinary, freePort, ProcessGroup, sleep, waitForPort } from './lib/procs.js';
import { median, percentile } from './lib/stats.js';
import { processCpuMs } from './lib/system.js';
import { BUILT_CLI, ensureBuilt } from './systems/build.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const argv = process.argv.slice(2);
const profileOption = optionValue(argv, '--profile');
const profileDir = profileOption === undefined ? undefined : resolve(profileOption);
/** `--server-flags "--trace-gc …"`: more Node flags for the Tributary server (a value that starts with `--`). */
const flagsIndex = argv.indexOf('--server-flags');
const serverFlags = flagsIndex >= 0 ? (argv[flagsIndex + 1] ?? '').split(' ').filter((f) => f !== '') : [];
const RATE = numberOption(argv, '--rate', 20);
const RECORDS = numberOption(argv, '--records', 300);
const ROUNDS = numberOption(argv, '--rounds', 3);
const WARMUP = 20;
const payload = 'x'.repeat(100);

interface Hops {
  /** send → the record back on the sending connection (Tributary) or on a subscriber (Redis). */
  readonly own: number[];
  /** send → the record on a second connection. */
  readonly other: number[];
  readonly brokerCpuUsPerRecord: number;
}

/** CPU ms (user, system) of the main thread and of the others of a process, from /proc/<pid>/task (Linux). */
function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const name = Number(task) === pid ? 'main' : 'others';
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${name} user`, (out.get(`${name} user`) ?? 0) + (Number(fields[11]) * 1000) / 100);
      out.set(`${name} sys`, (out.get(`${name} sys`) ?? 0) + (Number(fields[12]) * 1000) / 100);
    } catch {
      // the thread ended
    }
  }
  return out;
}

function threadDelta(before: Map<string, number>, after: Map<string, number>, records: number): string {
  return [...after]
    .map(([name, ms]) => [name, ms - (before.get(name) ?? 0)] as const)
    .filter(([, ms]) => ms > 0)
    .map(([name, ms]) => `${name} ${((1000 * ms) / records).toFixed(0)}`)
    .join(', ');
}

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);

async function tributaryRound(url: string, pid: number, round: number): Promise<Hops> {
  const a = await connect({ url });
  const b = await connect({ url });
  const topic = `hop-${round}`;
  await a.admin.createTopic(topic, { partitions: 1 });
  const producer = a.producer({ topic, lingerMs: 0 });
  const sentAt = new Map<number, number>();
  const own: number[] = [];
  const other: number[] = [];
  const seen = (into: number[]) => (records: { offset: number }[]) => {
    const now = performance.now();
    for (const r of records) {
      const at = sentAt.get(r.offset);
      if (at !== undefined && r.offset >= WARMUP) into.push(now - at);
    }
  };
  const consumerA = a.consumer({ topic, from: 'latest' });
  const consumerB = b.consumer({ topic, from: 'latest' });
  consumerA.on('records', seen(own));
  consumerB.on('records', seen(other));
  await Promise.all([consumerA.ready, consumerB.ready]);
  let cpuStart = 0;
  let threadsStart = new Map<string, number>();
  for (let i = 0; i < RECORDS + WARMUP; i++) {
    if (i === WARMUP) {
      cpuStart = processCpuMs(pid);
      threadsStart = threadCpuMs(pid);
    }
    const at = performance.now();
    // Offsets are 0, 1, 2…: known before the acknowledgement, as the delivery may come first.
    sentAt.set(i, at);
    await producer.send({ value: payload });
    await sleep(Math.max(0, 1000 / RATE - (performance.now() - at)));
  }
  await sleep(200);
  const cpu = processCpuMs(pid) - cpuStart;
  console.log(`  threads µs/record: ${threadDelta(threadsStart, threadCpuMs(pid), RECORDS)}`);
  await Promise.all([consumerA.close(), consumerB.close(), producer.close()]);
  await Promise.all([a.close(), b.close()]);
  return { own, other, brokerCpuUsPerRecord: (1000 * cpu) / RECORDS };
}

async function redisRound(port: number, pid: number): Promise<Hops> {
  const pub = new Redis({ host: '127.0.0.1', port });
  const subA = new Redis({ host: '127.0.0.1', port });
  const subB = new Redis({ host: '127.0.0.1', port });
  const sentAt: number[] = [];
  const own: number[] = [];
  const other: number[] = [];
  const seen = (into: number[]) => (_channel: string, message: string) => {
    const i = Number(message.slice(0, message.indexOf(':')));
    if (i >= WARMUP) into.push(performance.now() - sentAt[i]!);
  };
  subA.on('message', seen(own));
  subB.on('message', seen(other));
  await Promise.all([subA.subscribe('hop'), subB.subscribe('hop')]);
  let cpuStart = 0;
  for (let i = 0; i < RECORDS + WARMUP; i++) {
    if (i === WARMUP) cpuStart = processCpuMs(pid);
    const at = performance.now();
    sentAt[i] = at;
    await pub.publish('hop', `${i}:${payload}`);
    await sleep(Math.max(0, 1000 / RATE - (performance.now() - at)));
  }
  await sleep(200);
  const cpu = processCpuMs(pid) - cpuStart;
  for (const client of [pub, subA, subB]) client.disconnect();
  return { own, other, brokerCpuUsPerRecord: (1000 * cpu) / RECORDS };
}

const group = new ProcessGroup();
const dir = mkdtempSync(join(tmpdir(), 'sio-hop-'));
const keep = argv.includes('--keep');
group.onCleanup(() => (keep ? console.log(`kept ${dir}`) : rmSync(dir, { recursive: true, force: true })));

/** A Tributary server from the sources through tsx (`built: false`) or as `npm start` runs it. */
async function startTributary(name: string, built: boolean): Promise<{ url: string; pid: number }> {
  const port = await freePort();
  const entry = built ? [...SERVER_NODE_FLAGS, BUILT_CLI] : ['--import', 'tsx', 'src/cli/main.ts'];
  const server = group.spawn(
    name,
    process.execPath,
    [
      ...(profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]),
      ...serverFlags,
      ...entry,
      'serve',
      '--port',
      String(port),
      '--data',
      join(dir, name),
    ],
    { logFile: join(dir, `${name}.log`), cwd: ROOT, env: { ...process.env, TRIBUTARY_KAFKA_PORT: '0' } },
  );
  await waitForPort(port, server, 60_000);
  return { url: `ws://127.0.0.1:${port}/v1/ws`, pid: server.pid };
}

try {
  const brokers = argv.includes('--built-only') ? ['built', 'redis'] : ['tsx', 'built', 'redis'];
  const stale = brokers.includes('built') ? ensureBuilt(ROOT) : undefined;
  if (stale !== undefined) throw new Error(stale);
  const servers = new Map<string, { url: string; pid: number }>();
  for (const name of brokers)
    if (name !== 'redis') servers.set(name, await startTributary(name, name === 'built'));
  const redisBinary = findBinary('redis-server');
  if (redisBinary === undefined) throw new Error('redis-server is not on PATH');
  const rPort = await freePort();
  const redis = group.spawn(
    'redis',
    redisBinary,
    ['--port', String(rPort), '--bind', '127.0.0.1', '--save', ''],
    {
      logFile: join(dir, 'redis.log'),
    },
  );
  await waitForPort(rPort, redis);
  const fmt = (v: number): string => v.toFixed(3).padStart(8);
  console.log(`rate ${RATE}/s, ${RECORDS} records a round; load ${loadavg()[0]!.toFixed(2)}`);
  console.log('round  broker     own p50  own p99  oth p50  oth p99  broker µs/record');
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? brokers : [...brokers].reverse();
    for (const broker of order) {
      const server = servers.get(broker);
      const hops =
        server === undefined
          ? await redisRound(rPort, redis.pid)
          : await tributaryRound(server.url, server.pid, round);
      const own = sorted(hops.own);
      const other = sorted(hops.other);
      console.log(
        `${String(round).padStart(5)}  ${broker.padEnd(9)} ${fmt(median(own))} ${fmt(percentile(own, 99))} ${fmt(median(other))} ${fmt(percentile(other, 99))}  ${hops.brokerCpuUsPerRecord.toFixed(0).padStart(8)}`,
      );
    }
  }
  console.log(`load ${loadavg()[0]!.toFixed(2)} at the end`);
} finally {
  await group.stopAll();
}
