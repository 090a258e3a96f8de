/**
 * @module log/jetstream/testing/nats-servers
 * Starts nats-server processes with JetStream for tests and benchmarks: one node (R1) or a
 * 3-node cluster on free loopback ports, each with its own store directory in a temp folder.
 * Only the processes started here are ever stopped, by pid.
 *
 * @example
 * const nats = await startNatsServers({ nodes: 3 });
 * const log = await openJetStreamLog({ servers: nats.urls, replicas: 3 });
 * nats.kill(1);            // SIGKILL one node
 * await nats.restart(1);   // same port, same store
 * nats.cut(2);             // node 2 cut off from the others (with `routeProxies`)
 * nats.heal(2);
 * await nats.stop();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

export const NATS_SERVER_BINARY =
  ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((path) =>
    existsSync(path),
  ) ?? undefined;

export interface NatsServersOptions {
  /** 1 (default) or 3. */
  readonly nodes?: 1 | 3;
  /** NATS max_payload; default 8 MiB (the server's own default is 1 MiB). */
  readonly maxPayloadBytes?: number;
  /**
   * Cluster routes through a TCP proxy per pair of nodes (`tcp-proxy.ts`), so `cut` and `heal`
   * can partition a node from the others. Default false.
   */
  readonly routeProxies?: boolean;
  /** Client ports of the nodes, in order (default: free ports). */
  readonly clientPorts?: readonly number[];
  /**
   * How long each node may take to listen, and the cluster to elect its meta leader and place a
   * stream of every node's copy (default 30 s; a benchmark on a loaded machine gives more).
   */
  readonly startTimeoutMs?: number;
  /** Told of each step of the start-up (a node listening, the cluster ready), with the time it took. */
  readonly onProgress?: (message: string) => void;
  /** Told of every nats-server process started (e.g. to stop it with a benchmark's other processes). */
  readonly onSpawn?: (name: string, child: ChildProcess) => void;
}

export interface NatsServers {
  /** `nats://127.0.0.1:port` of each node. */
  readonly urls: readonly string[];
  /** SIGKILLs node `index` (its store is kept). */
  kill(index: number): void;
  /** Starts node `index` again on its port with its store. */
  restart(index: number): Promise<void>;
  /** Cuts node `index` off from the other nodes (needs `routeProxies`); clients still reach it. */
  cut(index: number): void;
  /** Ends the cut of node `index`. */
  heal(index: number): void;
  /** The JetStream store directory of node `index` (kept until `stop`). */
  storeDir(index: number): string;
  /** Stops every node and deletes the stores. */
  stop(): Promise<void>;
}

interface Node {
  readonly port: number;
  readonly configFile: string;
  child: ChildProcess | undefined;
}

export async function startNatsServers(options: NatsServersOptions = {}): Promise<NatsServers> {
  const binary = NATS_SERVER_BINARY;
  if (binary === undefined) throw new Error('nats-server not found (apt-get install nats-server)');
  const count = options.nodes ?? 1;
  const dir = await mkdtemp(join(tmpdir(), 'tributary-nats-'));
  const given = (options.clientPorts ?? []).slice(0, count);
  // Ports just released can be offered again: never one of the given ones.
  const ports = (await freePorts(count * 2 + given.length)).filter((port) => !given.includes(port));
  const clientPorts = [...given, ...ports].slice(0, count);
  const routePorts = ports.slice(count - given.length, 2 * count - given.length);
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const started = Date.now();
  const progress = (message: string): void =>
    options.onProgress?.(`${message} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const nodes: Node[] = [];
  // proxies[i][j]: the link node i dials to reach node j.
  const proxies: (TcpProxy | undefined)[][] = [];
  const useProxies = options.routeProxies === true && count > 1;
  // Gossiped route addresses would let nodes dial each other past the proxies: advertise a dead one.
  const deadPort = useProxies ? (await freePorts(1))[0]! : undefined;
  for (let i = 0; i < count; i++) {
    const row: (TcpProxy | undefined)[] = [];
    for (let j = 0; j < count; j++)
      row.push(useProxies && i !== j ? await startTcpProxy(routePorts[j]!) : undefined);
    proxies.push(row);
  }
  for (let i = 0; i < count; i++) {
    const lines = [
      `server_name: n${i}`,
      'host: 127.0.0.1',
      `port: ${clientPorts[i]}`,
      `max_payload: ${options.maxPayloadBytes ?? 8 * 1024 * 1024}`,
      `jetstream { store_dir: "${join(dir, `n${i}`)}" }`,
    ];
    if (count > 1) {
      const routes = useProxies
        ? proxies[i]!.flatMap((proxy) =>
            proxy === undefined ? [] : [`"nats-route://127.0.0.1:${proxy.port}"`],
          )
        : routePorts.map((port) => `"nats-route://127.0.0.1:${port}"`);
      const advertise = useProxies ? `, advertise: "127.0.0.1:${deadPort}"` : '';
      lines.push(
        `cluster { name: tributary-test, listen: "127.0.0.1:${routePorts[i]}"${advertise}, routes: [${routes.join(', ')}] }`,
      );
    }
    const configFile = join(dir, `n${i}.conf`);
    await writeFile(configFile, `${lines.join('\n')}\n`);
    nodes.push({ port: clientPorts[i]!, configFile, child: undefined });
  }
  const launch = async (node: Node, index: number): Promise<void> => {
    const child = spawn(binary, ['-c', node.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    options.onSpawn?.(`nats-server n${index}`, child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    node.child = child;
    await waitForPort(node.port, child, () => stderr, timeoutMs);
    progress(`nats-server n${index} listening on ${node.port}`);
  };
  await Promise.all(nodes.map(launch));
  const urls = nodes.map((node) => `nats://127.0.0.1:${node.port}`);
  if (count > 1) {
    await waitForJetStream(urls, count, timeoutMs);
    progress(`JetStream cluster of ${count} ready`);
  }
  return {
    urls,
    kill(index) {
      nodes[index]?.child?.kill('SIGKILL');
    },
    async restart(index) {
      await launch(nodes[index]!, index);
    },
    cut(index) {
      if (!useProxies) throw new Error('cut needs startNatsServers({ routeProxies: true })');
      for (let j = 0; j < count; j++) {
        proxies[index]![j]?.cut();
        proxies[j]![index]?.cut();
      }
    },
    storeDir(index) {
      return join(dir, `n${index}`);
    },
    heal(index) {
      for (let j = 0; j < count; j++) {
        proxies[index]![j]?.heal();
        proxies[j]![index]?.heal();
      }
    },
    async stop() {
      await Promise.all(
        nodes.map(async (node) => {
          const child = node.child;
          if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await exited;
        }),
      );
      await Promise.all(proxies.flat().map((proxy) => proxy?.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A cluster answers JetStream requests once it has elected its meta leader, and places R3
 * streams once every node has joined: wait until a probe stream of `replicas` copies can be made.
 */
async function waitForJetStream(urls: readonly string[], replicas: number, timeoutMs: number): Promise<void> {
  const nc = await connect({ servers: [...urls] });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const jsm = await nc.jetstreamManager({ timeout: 2000 });
        await jsm.streams.add({ name: 'startup_probe', subjects: ['startup.probe'], num_replicas: replicas });
        await jsm.streams.delete('startup_probe');
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await nc.close();
  }
}

/** Every port {@link freePorts} handed out in this process. */
const handedOut = new Set<number>();

/**
 * `count` loopback ports free a moment ago, none handed out before in this process. A port is
 * free only until its user binds it, which may be seconds later (a gateway starts after its
 * cluster): the OS may offer it again meanwhile, and two users of one port means one of them
 * exits with EADDRINUSE while the other answers on its port. The benchmark harness starts many
 * servers at once and takes its ports here too (`bench/lib/procs.ts`).
 */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const servers = await Promise.all(
      Array.from(
        { length: count - ports.length },
        () =>
          new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
            const server = createServer();
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => resolve(server));
          }),
      ),
    );
    for (const server of servers) {
      const { port } = server.address() as { port: number };
      if (handedOut.has(port)) continue;
      handedOut.add(port);
      ports.push(port);
    }
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
  return ports;
}

async function waitForPort(
  port: number,
  child: ChildProcess,
  stderr: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nats-server did not listen on ${port} within ${timeoutMs / 1000} s: ${stderr()}`);
}

/** One stored message as a node's own copy of a stream holds it. */
export interface StoredMessage {
  readonly seq: number;
  /** Its `Nats-Msg-Id` header ('' when none). */
  readonly msgId: string;
  readonly bytes: number;
}

/** Flags of a record's length and sequence in a nats-server 2.9 message block. */
const HEADERS_BIT = 0x8000_0000;
const ERASED_BIT = 1n << 63n;
/** length 4, sequence 8, timestamp 8, subject length 2; a checksum of 8 ends the record. */
const RECORD_HEADER_BYTES = 22;
const RECORD_CHECKSUM_BYTES = 8;

/**
 * The messages of `stream` as one node stores them, read straight from its message blocks
 * (`<store>/jetstream/$G/streams/<stream>/msgs/*.blk`, nats-server 2.9's file store, neither
 * compressed nor encrypted): in a cluster every read through the server goes to the stream
 * leader or to a consumer the meta leader placed, so this is the way to see one replica alone.
 * Read with the node stopped. For diagnosing replicas that disagree.
 */
export async function readNodeReplica(storeDir: string, stream: string): Promise<StoredMessage[]> {
  const dir = join(storeDir, 'jetstream', '$G', 'streams', stream, 'msgs');
  const blocks = (await readdir(dir))
    .filter((name) => name.endsWith('.blk'))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
  const bySeq = new Map<number, StoredMessage>();
  for (const block of blocks) {
    const buf = await readFile(join(dir, block));
    for (let at = 0; at + RECORD_HEADER_BYTES <= buf.length; ) {
      const rawLength = buf.readUInt32LE(at);
      const length = rawLength & ~HEADERS_BIT & 0x7fff_ffff;
      if (length < RECORD_HEADER_BYTES + RECORD_CHECKSUM_BYTES || at + length > buf.length) break;
      const rawSeq = buf.readBigUInt64LE(at + 4);
      const subjectLength = buf.readUInt16LE(at + 20);
      let body = at + RECORD_HEADER_BYTES + subjectLength;
      let msgId = '';
      if ((rawLength & HEADERS_BIT) !== 0) {
        const headerLength = buf.readUInt32LE(body);
        const headers = buf.subarray(body + 4, body + 4 + headerLength).toString('latin1');
        msgId = /Nats-Msg-Id:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim() ?? '';
        body += 4 + headerLength;
      }
      if ((rawSeq & ERASED_BIT) === 0n) {
        const seq = Number(rawSeq);
        bySeq.set(seq, { seq, msgId, bytes: at + length - RECORD_CHECKSUM_BYTES - body });
      }
      at += length;
    }
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}
