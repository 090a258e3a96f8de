import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import { describeLogContract } from '../log.contract.js';
import { type JetStreamLog, openJetStreamLog } from './jetstream-log.js';
import { NATS_SERVER_BINARY, type NatsServers, startNatsServers } from './testing/nats-servers.js';

/**
 * The JetStream engine on a 3-node nats-server cluster with R3 streams, started on free ports.
 * Chaos: one node SIGKILLed in the middle of an idempotent append run (bounded by
 * `CLUSTER_CHAOS_APPENDS`), as a producer retries (same producer id and sequence) until each
 * batch is acknowledged: no acknowledged record lost, none stored twice, offsets dense.
 * The whole Log contract on R3 runs with `TRIBUTARY_JETSTREAM_R3_CONTRACT=1` (slower: each
 * topic is three replicated streams).
 */
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
const available = NATS_SERVER_BINARY !== undefined || required;
const APPENDS = Number(process.env.CLUSTER_CHAOS_APPENDS ?? 300);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string => (b === null ? '' : new TextDecoder().decode(b));

describe.skipIf(!available)('JetStream log on a 3-node R3 cluster', () => {
  let nats: NatsServers;
  beforeAll(async () => {
    nats = await startNatsServers({ nodes: 3 });
  }, 60_000);
  afterAll(async () => {
    await nats?.stop();
  });

  it(`keeps every acknowledged append exactly once when a node is SIGKILLed during ${APPENDS} idempotent appends`, async () => {
    const log: JetStreamLog = await openJetStreamLog({
      servers: nats.urls,
      replicas: 3,
      namespace: 'chaos',
      connection: { maxReconnectAttempts: -1, reconnectTimeWait: 100 },
    });
    try {
      await createWithRetry(log);
      const producer = { producerId: 42, producerEpoch: 0 };
      const acknowledged = new Map<string, number>();
      let retries = 0;
      const killAt = Math.floor(APPENDS / 3);
      const restartAt = Math.floor((2 * APPENDS) / 3);
      // The node to kill is the partition stream's leader: the one whose loss forces an election.
      const { id } = await log.describeTopic('chaos');
      const leader = await streamLeader(nats.urls, `chaos_${id}_0`);
      let killed = -1;
      for (let i = 0; i < APPENDS; i++) {
        if (i === killAt) {
          killed = leader;
          nats.kill(killed);
        }
        if (i === restartAt) await nats.restart(killed);
        const value = `a${i}`;
        for (let attempt = 0; ; attempt++) {
          try {
            const result = await log.append('chaos', 0, [{ key: null, value: enc(value) }], {
              producer: { ...producer, baseSequence: i },
            });
            acknowledged.set(value, result.baseOffset);
            break;
          } catch (error) {
            // A retriable refusal (the node's loss, a leader election): the producer sends again.
            if (!(error instanceof TributaryError) || !error.retriable || attempt > 100) throw error;
            retries++;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      }
      const stored = await readAll(log);
      const counts = new Map<string, number>();
      for (const record of stored) counts.set(dec(record.value), (counts.get(dec(record.value)) ?? 0) + 1);
      const lost = [...acknowledged.keys()].filter((value) => !counts.has(value)).length;
      const duplicated = [...counts.values()].filter((n) => n > 1).length;
      console.log(
        `R3 node-kill chaos: ${APPENDS} appends, ${acknowledged.size} acknowledged, ${retries} retries, ` +
          `${stored.length} stored, ${lost} acknowledged lost, ${duplicated} duplicated (stream leader n${killed} SIGKILLed)`,
      );
      expect(lost).toBe(0);
      expect(duplicated).toBe(0);
      expect(stored.map((r) => r.offset)).toEqual(stored.map((_, i) => i));
      for (const record of stored) expect(acknowledged.get(dec(record.value))).toBe(record.offset);

      // A second gateway opening the partition from the cluster replays the same log.
      const other = await openJetStreamLog({ servers: nats.urls, replicas: 3, namespace: 'chaos' });
      try {
        expect((await readAll(other)).map((r) => [r.offset, dec(r.value)])).toEqual(
          stored.map((r) => [r.offset, dec(r.value)]),
        );
      } finally {
        await other.close();
      }
    } finally {
      await log.close();
    }
  }, 240_000);

  // Ephemeral consumers are placed on any node holding the stream; a copy other than the
  // leader's may have diverged (nats-server 2.9 after a partition), so gateways read the leader's.
  it('serves each gateway from a consumer on the node leading the stream', async () => {
    const namespace = 'placed';
    const writer = await openJetStreamLog({ servers: nats.urls, replicas: 3, namespace });
    const readers: JetStreamLog[] = [];
    const nc = await connect({ servers: [...nats.urls] });
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await writer.createTopic('placed');
          break;
        } catch (error) {
          if (attempt > 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      await writer.append('placed', 0, [{ key: null, value: enc('x') }]);
      for (let i = 0; i < 4; i++) {
        const reader = await openJetStreamLog({
          servers: nats.urls,
          replicas: 3,
          namespace,
          connection: { inboxPrefix: `_INBOX_R${i}` },
        });
        readers.push(reader);
        expect((await reader.read('placed', 0, 0)).map((r) => dec(r.value))).toEqual(['x']);
      }
      const stream = `${namespace}_${(await writer.describeTopic('placed')).id}_0`;
      const jsm = await nc.jetstreamManager();
      // Consumers found elsewhere were replaced; their deletion may take a moment to show.
      let placement: string[] = [];
      for (let attempt = 0; attempt < 50; attempt++) {
        const leader = (await jsm.streams.info(stream)).cluster?.leader;
        placement = [];
        for await (const c of jsm.consumers.list(stream)) {
          const reader = /^_INBOX_(R\d)\./.exec(c.config.deliver_subject ?? '')?.[1];
          if (reader !== undefined)
            placement.push(`${reader} ${c.cluster?.leader === leader ? 'leader' : 'follower'}`);
        }
        placement.sort();
        if (placement.length === 4 && placement.every((p) => p.endsWith('leader'))) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(placement).toEqual(['R0 leader', 'R1 leader', 'R2 leader', 'R3 leader']);
    } finally {
      await nc.close();
      for (const reader of readers) await reader.close();
      await writer.close();
    }
  }, 60_000);
});

/** Index of the node leading `stream` (nodes are named n0, n1, n2). */
async function streamLeader(urls: readonly string[], stream: string): Promise<number> {
  const nc = await connect({ servers: [...urls] });
  try {
    const info = await (await nc.jetstreamManager()).streams.info(stream);
    const leader = Number(/^n(\d)$/.exec(info.cluster?.leader ?? '')?.[1]);
    if (!Number.isInteger(leader))
      throw new Error(`no leader for ${stream}: ${JSON.stringify(info.cluster)}`);
    return leader;
  } finally {
    await nc.close();
  }
}

/** Creating R3 streams right after the cluster formed may wait for its meta leader. */
async function createWithRetry(log: JetStreamLog): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await log.createTopic('chaos');
      return;
    } catch (error) {
      if (attempt > 50 || (error instanceof TributaryError && error.code === 'TOPIC_EXISTS')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function readAll(log: JetStreamLog) {
  const out = [];
  for (let offset = 0; ; ) {
    const records = await log.read('chaos', 0, offset, { maxRecords: 1000 });
    if (records.length === 0) return out;
    out.push(...records);
    offset = records.at(-1)!.offset + 1;
  }
}

if (available && process.env.TRIBUTARY_JETSTREAM_R3_CONTRACT === '1') {
  let cluster: Promise<NatsServers> | undefined;
  afterAll(async () => {
    await (await cluster)?.stop();
  });
  let namespaces = 0;
  describeLogContract('jetstream (R3, 3 nodes)', async () => {
    cluster ??= startNatsServers({ nodes: 3 });
    const { urls } = await cluster;
    const namespace = `r3_${namespaces++}`;
    const open = () => openJetStreamLog({ servers: urls, namespace, replicas: 3 });
    return { log: await open(), reopen: open };
  });
}
