/**
 * All-reduce of sync groups (`docs/sync-groups.md`): 1 KiB, 1 MiB and 16 MiB float32 tensors
 * across 2, 4 and 8 members, steps/s, p50/p99 step latency and effective GB/s (tensor bytes ×
 * members per second), beside the physical floor measured in the same run: the same bytes
 * through loopback TCP once per member each way (each member sends its tensor to one server
 * socket, which sends as many bytes back), with nothing else done. Ratio = Tributary's step time
 * over the floor's. Server and members run in this process (one core's worth of work for all of
 * them), as the floor's two ends do.
 *
 * Run: `npm run bench:allreduce` (`--quick` for a small run).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type SyncGroupMember, type TributaryClient } from '../src/client/node/index.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { startServer } from '../src/server/server.js';

const QUICK = process.argv.includes('--quick');
const SIZES = QUICK ? [1024, 1024 * 1024] : [1024, 1024 * 1024, 16 * 1024 * 1024];
const MEMBERS = QUICK ? [2, 4] : [2, 4, 8];
/** Bytes moved per configuration (tensor × members × steps), bounding the run's length. */
const BUDGET_BYTES = QUICK ? 16 * 1024 * 1024 : 512 * 1024 * 1024;

interface Measure {
  readonly stepsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly gbPerS: number;
}

function stepsFor(bytes: number, members: number): number {
  return Math.max(3, Math.min(QUICK ? 50 : 300, Math.floor(BUDGET_BYTES / (bytes * members))));
}

function summarize(times: number[], bytes: number, members: number): Measure {
  const sorted = [...times].sort((a, b) => a - b);
  const total = times.reduce((a, b) => a + b, 0);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    stepsPerS: (times.length * 1000) / total,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    gbPerS: (bytes * members * times.length) / (total / 1000) / 1e9,
  };
}

async function tributary(url: string, bytes: number, members: number, group: string): Promise<Measure> {
  const clients: TributaryClient[] = await Promise.all(
    Array.from({ length: members }, () => connect({ url, reconnect: false, requestTimeoutMs: 120_000 })),
  );
  const group_ = await Promise.all(clients.map((c) => c.joinSyncGroup(group, { minMembers: members })));
  const tensors = group_.map((_, r) => new Float32Array(bytes / 4).fill(r + 1));
  const run = (m: SyncGroupMember, r: number) => m.allReduce([tensors[r]!]);
  await Promise.all(group_.map(run)); // warm-up
  const times: number[] = [];
  for (let i = 0; i < stepsFor(bytes, members); i++) {
    const started = performance.now();
    await Promise.all(group_.map(run));
    times.push(performance.now() - started);
  }
  await Promise.all(group_.map((m) => m.leave()));
  await Promise.all(clients.map((c) => c.close()));
  return summarize(times, bytes, members);
}

/** Each member sends `bytes` to the server over loopback TCP; the server sends `bytes` back to each. */
async function floor(bytes: number, members: number): Promise<Measure> {
  const payload = Buffer.alloc(bytes, 1);
  const serverSockets: Socket[] = [];
  const received = new Map<Socket, number>();
  let onServerData: (() => void) | undefined;
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    serverSockets.push(socket);
    received.set(socket, 0);
    socket.on('data', (chunk) => {
      received.set(socket, (received.get(socket) ?? 0) + chunk.length);
      onServerData?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const clients = await Promise.all(
    Array.from(
      { length: members },
      () =>
        new Promise<Socket>((resolve) => {
          const socket = tcpConnect(port, '127.0.0.1', () => resolve(socket));
          socket.setNoDelay(true);
        }),
    ),
  );
  while (serverSockets.length < members) await new Promise((r) => setTimeout(r, 1));
  const clientReceived = new Map<Socket, number>(clients.map((c) => [c, 0]));
  let onClientData: (() => void) | undefined;
  for (const c of clients) {
    c.on('data', (chunk) => {
      clientReceived.set(c, (clientReceived.get(c) ?? 0) + chunk.length);
      onClientData?.();
    });
  }
  const step = async (): Promise<void> => {
    for (const s of serverSockets) received.set(s, 0);
    for (const c of clients) clientReceived.set(c, 0);
    const allIn = new Promise<void>((resolve) => {
      onServerData = () => {
        if ([...received.values()].every((n) => n >= bytes)) resolve();
      };
    });
    for (const c of clients) c.write(payload);
    await allIn;
    const allOut = new Promise<void>((resolve) => {
      onClientData = () => {
        if ([...clientReceived.values()].every((n) => n >= bytes)) resolve();
      };
    });
    for (const s of serverSockets) s.write(payload);
    await allOut;
  };
  await step();
  const times: number[] = [];
  for (let i = 0; i < stepsFor(bytes, members); i++) {
    const started = performance.now();
    await step();
    times.push(performance.now() - started);
  }
  for (const c of clients) c.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return summarize(times, bytes, members);
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const size = (bytes: number) => (bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`);

const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-allreduce-'));
const server = await startServer({
  dataDir: dir,
  host: '127.0.0.1',
  port: 0,
  metrics: new ServerMetrics({ defaultMetrics: false }),
  closeGraceMs: 500,
});
const url = `ws://127.0.0.1:${server.port}/v1/ws`;
console.log(
  `# bench:allreduce — ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}`,
);
console.log('');
console.log(
  '| tensor | members | system | steps/s | p50 ms | p99 ms | GB/s | step time ÷ floor | server copies per step |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
let n = 0;
for (const bytes of SIZES) {
  for (const members of MEMBERS) {
    const before = server.syncGroups.stats();
    const t = await tributary(url, bytes, members, `bench-${n++}`);
    const after = server.syncGroups.stats();
    const steps = after.steps - before.steps;
    const copied = steps === 0 ? 0 : (after.copiedBytes - before.copiedBytes) / steps / bytes;
    const f = await floor(bytes, members);
    const ratio = f.stepsPerS / t.stepsPerS;
    const row = (system: string, m: Measure, r: string, c: string) =>
      console.log(
        `| ${size(bytes)} | ${members} | ${system} | ${fmt(m.stepsPerS, 1)} | ${fmt(m.p50Ms)} | ${fmt(m.p99Ms)} | ${fmt(m.gbPerS, 3)} | ${r} | ${c} |`,
      );
    row('tributary', t, `${fmt(ratio)}×`, `${fmt(copied)} × tensor (+ 1 × the log's copy)`);
    row('loopback TCP floor', f, '1×', '—');
  }
}
await server.close();
await rm(dir, { recursive: true, force: true });
