import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import { type JetStreamLog, openJetStreamLog } from './jetstream-log.js';
import {
  NATS_SERVER_BINARY,
  type NatsServers,
  readNodeReplica,
  type StoredMessage,
  startNatsServers,
} from './testing/nats-servers.js';

/**
 * Chaos on a 3-node nats-server cluster with R3 streams, cluster routes through TCP proxies this
 * file controls (loopback only): two gateways (JetStream logs) produce with idempotent producers
 * into one partition while a consumer on each follows it, and
 *
 * - the node leading the partition's stream is cut off from the other two and healed; gateway A
 *   is connected to the majority, gateway B only to the node cut off;
 * - the leading node is SIGKILLed and restarted.
 *
 * Faults land when a share of the records is acknowledged (not after a time), so a quiet machine
 * and a loaded one both see them mid-run. Figures printed and checked: acknowledged records lost
 * 0, duplicates 0, gaps in what each consumer read 0, and every gateway (and a fresh one)
 * replays the same log. Size: `JETSTREAM_CHAOS_RECORDS` per producer (default 120), 4 producers
 * per gateway.
 *
 * The network-partition run is opt-in (`TRIBUTARY_JETSTREAM_PARTITION_CHAOS=1`; 18–47 s): with
 * nats-server 2.9.10 the node cut off keeps, after the heal, a copy of the stream whose messages
 * stand at other sequences than on the two other nodes (read from each node's files by
 * `compareNodeReplicas`, with `JETSTREAM_CHAOS_DUMP=1`). The run prints where each gateway's
 * consumer was placed, and checks that no gateway served that copy (gateways read through the
 * stream leader's node and refuse deliveries that contradict acknowledged sequences, see
 * `partition-replica.ts`); docs/scale-out.md reports the runs.
 */
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
const available = NATS_SERVER_BINARY !== undefined || required;
const RECORDS_PER_PRODUCER = Number(process.env.JETSTREAM_CHAOS_RECORDS ?? 120);
const PRODUCERS_PER_GATEWAY = 4;
/** How long one record may take to be acknowledged, retries included (a cut lasts seconds). */
const RECORD_DEADLINE_MS = 120_000;
const TOPIC = 'chaos';
const PARTITION_CHAOS = process.env.TRIBUTARY_JETSTREAM_PARTITION_CHAOS === '1';
/** How long consumers get to reach the end of the log once the producers are done. */
const DRAIN_MS = 60_000;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string => (b === null ? '' : new TextDecoder().decode(b));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Figures {
  readonly sent: number;
  readonly acknowledged: number;
  readonly retries: number;
  readonly stored: number;
  readonly lost: number;
  readonly duplicates: number;
  /** Acknowledged records that stand, in gateway A's log, at another offset than acknowledged. */
  readonly misplaced: number;
  readonly gaps: number;
  /** Gateways (the fresh one included) whose log differs from gateway A's. */
  readonly diverged: number;
}

describe.skipIf(!available)('JetStream chaos: 3 nodes, R3, two gateways producing and consuming', () => {
  let nats: NatsServers;
  beforeAll(async () => {
    nats = await startNatsServers({ nodes: 3, routeProxies: true });
  }, 60_000);
  afterAll(async () => {
    await nats?.stop();
  });

  it.runIf(PARTITION_CHAOS)(
    'loses nothing acknowledged when the stream leader is cut off from the cluster and healed',
    async () => {
      const namespace = 'cut';
      const setup = await gateway(nats.urls, namespace);
      await createWithRetry(setup);
      const stream = `${namespace}_${(await setup.describeTopic(TOPIC)).id}_0`;
      const leader = await streamLeader(nats.urls, stream);
      await setup.close();
      const majority = nats.urls.filter((_, i) => i !== leader);
      const a = await gateway(majority, namespace, 'A');
      const b = await gateway([nats.urls[leader]!], namespace, 'B');
      const placement = await watchPlacement(nats.urls, stream);
      let cutMs = 0;
      const figures = await produceAndConsume([a, b], nats.urls, namespace, async (acknowledged, total) => {
        await acknowledged(Math.floor(total / 3));
        nats.cut(leader);
        placement.mark(`cut n${leader}`);
        const cutAt = Date.now();
        // Heal once the majority side has gone on acknowledging, or after 15 s at most.
        await Promise.race([acknowledged(Math.floor(total / 2)), sleep(15_000)]);
        await sleep(2_000);
        nats.heal(leader);
        placement.mark(`healed n${leader}`);
        cutMs = Date.now() - cutAt;
      });
      await placement.stop();
      console.log(
        `JetStream network partition: stream leader n${leader} cut off for ${cutMs} ms (gateway B connected only to it): ${summary(figures)}\n` +
          `consumer placement (gateway: node serving its consumer / stream leader):\n${placement.log()}`,
      );
      if (
        figures.lost > 0 ||
        figures.misplaced > 0 ||
        figures.diverged > 0 ||
        process.env.JETSTREAM_CHAOS_DUMP === '1'
      )
        console.log(await compareNodeReplicas(nats, stream));
      check(figures);
    },
    300_000,
  );

  it('loses nothing acknowledged and consumers go on without a gap when the stream leader is SIGKILLed', async () => {
    const namespace = 'kill';
    const setup = await gateway(nats.urls, namespace);
    await createWithRetry(setup);
    const leader = await streamLeader(nats.urls, `${namespace}_${(await setup.describeTopic(TOPIC)).id}_0`);
    await setup.close();
    const a = await gateway(nats.urls, namespace);
    const b = await gateway(nats.urls, namespace);
    const figures = await produceAndConsume([a, b], nats.urls, namespace, async (acknowledged, total) => {
      await acknowledged(Math.floor(total / 3));
      nats.kill(leader);
      await acknowledged(Math.floor((2 * total) / 3));
      await nats.restart(leader);
    });
    console.log(`JetStream node SIGKILL: stream leader n${leader} killed and restarted: ${summary(figures)}`);
    check(figures);
  }, 300_000);
});

function summary(f: Figures): string {
  return (
    `${f.sent} sent, ${f.acknowledged} acknowledged, ${f.retries} retries, ${readerRetries} reader retries, ${f.stored} stored, ` +
    `acknowledged lost ${f.lost}, duplicates ${f.duplicates}, misplaced ${f.misplaced}, gap ${f.gaps}, ` +
    `gateways diverged ${f.diverged}`
  );
}

function check(figures: Figures): void {
  expect(figures.acknowledged).toBe(figures.sent);
  expect(figures.lost).toBe(0);
  expect(figures.duplicates).toBe(0);
  expect(figures.misplaced).toBe(0);
  expect(figures.gaps).toBe(0);
  expect(figures.diverged).toBe(0);
}

/** `name` marks the gateway's consumers (their deliver subjects start with `_INBOX_<name>.`). */
/**
 * A gateway over `servers`. Opening it creates R3 buckets, which JetStream cannot place while a
 * node counts as offline: for a few seconds after the partition run's heal, so the next run waits.
 */
async function gateway(servers: readonly string[], namespace: string, name = 'X'): Promise<JetStreamLog> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await openJetStreamLog({
        servers,
        replicas: 3,
        namespace,
        connection: { maxReconnectAttempts: -1, reconnectTimeWait: 100, inboxPrefix: `_INBOX_${name}` },
      });
    } catch (error) {
      if (attempt >= 60 || !/no suitable peers for placement/i.test((error as Error).message)) throw error;
      await sleep(500);
    }
  }
}

/**
 * Records, every 250 ms, which node serves each gateway's consumer of `stream` (consumer info
 * `cluster.leader`) and which node leads the stream: each change is a line of the log.
 */
async function watchPlacement(urls: readonly string[], stream: string) {
  const nc = await connect({ servers: [...urls], maxReconnectAttempts: -1 });
  const jsm = await nc.jetstreamManager({ timeout: 1000 });
  const started = Date.now();
  const lines: string[] = [];
  const at = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  let last = '';
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const leader = (await jsm.streams.info(stream)).cluster?.leader ?? '?';
        const served: string[] = [];
        for await (const c of jsm.consumers.list(stream)) {
          const who = /^_INBOX_([A-Z])\./.exec(c.config.deliver_subject ?? '')?.[1] ?? '?';
          served.push(`${who}: ${c.cluster?.leader ?? '?'}`);
        }
        const now = `${served.sort().join(', ')} / leader ${leader}`;
        if (now !== last) lines.push(`${at()} ${now}`);
        last = now;
      } catch {
        // Unanswered while electing: try again.
      }
      await sleep(250);
    }
  })();
  return {
    mark: (event: string) => lines.push(`${at()} ${event}`),
    log: () => lines.join('\n'),
    async stop() {
      running = false;
      await loop;
      await nc.close();
    },
  };
}

/**
 * Runs the producers (idempotent, one record per append, each retried until acknowledged) and a
 * consumer per gateway, with `fault` alongside; `acknowledged(n)` resolves once n records are.
 */
async function produceAndConsume(
  gateways: readonly JetStreamLog[],
  urls: readonly string[],
  namespace: string,
  fault: (acknowledged: (n: number) => Promise<void>, total: number) => Promise<void>,
): Promise<Figures> {
  const total = gateways.length * PRODUCERS_PER_GATEWAY * RECORDS_PER_PRODUCER;
  readerRetries = 0;
  const acked = new Map<string, number>();
  const ackWaiters: { n: number; resolve: () => void }[] = [];
  const acknowledged = (n: number): Promise<void> =>
    acked.size >= n ? Promise.resolve() : new Promise((resolve) => ackWaiters.push({ n, resolve }));
  let retries = 0;
  const stop = new AbortController();
  const consumed = gateways.map((log) => consume(log, stop.signal));
  try {
    const producers = gateways.flatMap((log, g) =>
      Array.from({ length: PRODUCERS_PER_GATEWAY }, async (_, p) => {
        const producer = { producerId: 1000 + g * 100 + p, producerEpoch: 0 };
        for (let i = 0; i < RECORDS_PER_PRODUCER; i++) {
          const value = `g${g}p${p}-${i}`;
          const deadline = Date.now() + RECORD_DEADLINE_MS;
          for (;;) {
            try {
              const result = await log.append(TOPIC, 0, [{ key: null, value: enc(value) }], {
                producer: { ...producer, baseSequence: i },
              });
              acked.set(value, result.baseOffset);
              for (const waiter of [...ackWaiters]) {
                if (acked.size >= waiter.n) {
                  ackWaiters.splice(ackWaiters.indexOf(waiter), 1);
                  waiter.resolve();
                }
              }
              break;
            } catch (error) {
              // What a producer retries (the node's loss, an election, a cut): send again.
              if (!(error instanceof TributaryError) || !error.retriable || Date.now() > deadline)
                throw error;
              retries++;
              await sleep(100);
            }
          }
        }
      }),
    );
    await Promise.all([...producers, fault(acknowledged, total)]);
    // Every consumer reads up to the end of the log as its gateway has it.
    const end = Math.max(
      ...(await Promise.all(gateways.map(async (log) => (await log.offsets(TOPIC, 0)).next))),
    );
    await Promise.race([
      Promise.all(gateways.map((log) => log.waitForAppend(TOPIC, 0, end - 1))),
      sleep(DRAIN_MS),
    ]);
  } finally {
    stop.abort();
  }
  const reads = await Promise.all(consumed);
  const stored = await readAll(gateways[0]!);
  // A gateway started now, connected to every node, replays the same log.
  const fresh = await gateway(urls, namespace);
  const replayed = await readAll(fresh);
  await fresh.close();
  for (const log of gateways) await log.close();

  const counts = new Map<string, number>();
  for (const record of stored) counts.set(dec(record.value), (counts.get(dec(record.value)) ?? 0) + 1);
  const lost = [...acked.keys()].filter((value) => !counts.has(value)).length;
  const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
  // Offsets dense, acknowledged offsets where they were acknowledged, and each consumer read
  // exactly that log, in order, without a gap.
  expect(stored.map((r) => r.offset)).toEqual(stored.map((_, i) => i));
  let misplaced = 0;
  for (const record of stored) {
    const at = acked.get(dec(record.value));
    if (at !== undefined && at !== record.offset) misplaced++;
  }
  const expected = stored.map((r) => `${r.offset}:${dec(r.value)}`).join();
  let gaps = 0;
  let diverged = 0;
  for (const read of reads) {
    for (let i = 0; i < read.length; i++) if (read[i]!.offset !== i) gaps++;
    if (read.map((r) => `${r.offset}:${r.value}`).join() !== expected) diverged++;
  }
  if (replayed.map((r) => `${r.offset}:${dec(r.value)}`).join() !== expected) diverged++;
  return {
    sent: total,
    acknowledged: acked.size,
    retries,
    stored: stored.length,
    lost,
    duplicates,
    misplaced,
    gaps,
    diverged,
  };
}

/** Retriable errors the consumers were answered with (e.g. a partition being replayed). */
let readerRetries = 0;

/** A consumer: reads from offset 0 on, waiting for appends, until `signal` and caught up. */
async function consume(log: JetStreamLog, signal: AbortSignal): Promise<{ offset: number; value: string }[]> {
  const seen: { offset: number; value: string }[] = [];
  let offset = 0;
  for (;;) {
    let records: Awaited<ReturnType<JetStreamLog['read']>>;
    try {
      records = await log.read(TOPIC, 0, offset, { maxRecords: 500 });
    } catch (error) {
      if (!(error instanceof TributaryError) || !error.retriable) throw error;
      readerRetries++;
      await sleep(100);
      continue;
    }
    for (const record of records) seen.push({ offset: record.offset, value: dec(record.value) });
    if (records.length > 0) {
      offset = records.at(-1)!.offset + 1;
      continue;
    }
    if (signal.aborted) return seen;
    try {
      await log.waitForAppend(TOPIC, 0, offset, signal);
    } catch (error) {
      if (signal.aborted) continue;
      // A gateway replaying a partition (its consumer delivered a diverged copy) says so: retry.
      if (!(error instanceof TributaryError) || !error.retriable) throw error;
      readerRetries++;
      await sleep(100);
    }
  }
}

async function readAll(log: JetStreamLog) {
  const out = [];
  for (let offset = 0; ; ) {
    const records = await log.read(TOPIC, 0, offset, { maxRecords: 1000 });
    if (records.length === 0) return out;
    out.push(...records);
    offset = records.at(-1)!.offset + 1;
  }
}

/** Index of the node leading `stream` (nodes are named n0, n1, n2), once it has one. */
async function streamLeader(urls: readonly string[], stream: string): Promise<number> {
  const nc = await connect({ servers: [...urls] });
  try {
    const jsm = await nc.jetstreamManager();
    for (let attempt = 0; ; attempt++) {
      const info = await jsm.streams.info(stream).catch(() => undefined);
      const leader = Number(/^n(\d)$/.exec(info?.cluster?.leader ?? '')?.[1]);
      if (Number.isInteger(leader)) return leader;
      if (attempt > 100) throw new Error(`no leader for ${stream}: ${JSON.stringify(info?.cluster)}`);
      await sleep(200);
    }
  } finally {
    await nc.close();
  }
}

/** Creating R3 streams right after the cluster formed may wait for its meta leader. */
async function createWithRetry(log: JetStreamLog): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await log.createTopic(TOPIC);
      return;
    } catch (error) {
      if (attempt > 50 || (error instanceof TributaryError && error.code === 'TOPIC_EXISTS')) throw error;
      await sleep(200);
    }
  }
}

/**
 * Each node's own copy of `stream`, read from its message blocks (the nodes are SIGKILLed first,
 * and started again after): where the copies differ, the first sequence they differ at and what
 * each holds there. Printed when the partition run fails, or always with JETSTREAM_CHAOS_DUMP=1.
 */
async function compareNodeReplicas(nats: NatsServers, stream: string): Promise<string> {
  for (let i = 0; i < nats.urls.length; i++) nats.kill(i);
  await sleep(500);
  const copies: StoredMessage[][] = [];
  for (let i = 0; i < nats.urls.length; i++) copies.push(await readNodeReplica(nats.storeDir(i), stream));
  const lines = copies.map((c, i) => `n${i}: ${c.length} messages, last seq ${c.at(-1)?.seq ?? 0}`);
  const longest = Math.max(...copies.map((c) => c.length));
  for (let k = 0; k < longest; k++) {
    const at = copies.map((c) => c[k]);
    const same = at.every(
      (m) => m?.seq === at[0]?.seq && m?.msgId === at[0]?.msgId && m?.bytes === at[0]?.bytes,
    );
    if (!same) {
      lines.push(`first difference at index ${k}:`);
      for (const [i, m] of at.entries())
        lines.push(`  n${i}: ${m === undefined ? 'none' : `seq ${m.seq} id ${m.msgId} ${m.bytes} B`}`);
      break;
    }
  }
  const ids = copies.map((c) => new Set(c.map((m) => m.msgId)));
  copies.forEach((c, i) => {
    const others = ids.filter((_, j) => j !== i);
    const only = c.filter((m) => others.every((set) => !set.has(m.msgId))).length;
    lines.push(`n${i}: ${only} message ids no other node holds, ${c.length - ids[i]!.size} ids held twice`);
  });
  for (let i = 0; i < nats.urls.length; i++) await nats.restart(i);
  return `replicas of ${stream}:\n${lines.join('\n')}`;
}
