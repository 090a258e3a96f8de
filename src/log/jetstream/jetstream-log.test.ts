import { connect } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { describeLogContract } from '../log.contract.js';
import { encodeCommand } from './command.js';
import { openJetStreamLog } from './jetstream-log.js';
import { NATS_SERVER_BINARY, type NatsServers, startNatsServers } from './testing/nats-servers.js';

/**
 * The Log contract on a nats-server (JetStream, R1) this file starts on a free port. Each test
 * gets a namespace of its own (streams and catalog bucket), deleted after it.
 */
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
let servers: Promise<NatsServers> | undefined;
afterAll(async () => {
  await (await servers)?.stop();
});

if (NATS_SERVER_BINARY === undefined && !required) {
  describe('Log contract: jetstream', () => {
    it.skip('skipped: nats-server is absent (apt-get install nats-server)', () => undefined);
  });
} else {
  const nats = (): Promise<NatsServers> => {
    servers ??= startNatsServers();
    return servers;
  };

  let namespaces = 0;
  describeLogContract('jetstream (R1)', async () => {
    const { urls } = await nats();
    const namespace = `c${process.pid}_${namespaces++}`;
    const open = () => openJetStreamLog({ servers: urls, namespace });
    return {
      log: await open(),
      reopen: open,
      cleanup: () => deleteNamespace(urls, namespace),
    };
  });
}

/** Deletes every stream of `namespace` (partition streams and the catalog bucket). */
async function deleteNamespace(urls: readonly string[], namespace: string): Promise<void> {
  const nc = await connect({ servers: [...urls] });
  try {
    const jsm = await nc.jetstreamManager();
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    const ours = names.filter(
      (name) => name.startsWith(`${namespace}_`) || name === `KV_${namespace}_catalog`,
    );
    await Promise.all(ours.map((name) => jsm.streams.delete(name).catch(() => false)));
  } finally {
    await nc.close();
  }
}

/**
 * Two logs ("gateways") writing one partition at once: writes are decided where they land in the
 * stream, so offsets stay dense, each gateway's writes keep their order, and of concurrent
 * appends expecting the same last offset exactly one wins.
 */
describe.skipIf(NATS_SERVER_BINARY === undefined && !required)(
  'JetStream log: two gateways, one partition',
  () => {
    it('pipelined writes from two gateways interleave densely and expectedLastOffset has one winner', async () => {
      servers ??= startNatsServers();
      const { urls } = await servers;
      const namespace = `two${process.pid}`;
      const a = await openJetStreamLog({ servers: urls, namespace });
      const b = await openJetStreamLog({ servers: urls, namespace });
      try {
        await a.createTopic('shared');
        const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
        const per = 200;
        const writes = (log: typeof a, name: string) =>
          Array.from({ length: per }, (_, i) =>
            log.append('shared', 0, [{ key: null, value: enc(`${name}${i}`) }]),
          );
        const results = await Promise.all([...writes(a, 'a'), ...writes(b, 'b')]);
        const offsets = results.map((r) => r.baseOffset).sort((x, y) => x - y);
        expect(offsets).toEqual(Array.from({ length: 2 * per }, (_, i) => i));
        const stored = await b.read('shared', 0, 0, { maxRecords: 10_000 });
        const values = stored.map((r) => new TextDecoder().decode(r.value!));
        for (const name of ['a', 'b']) {
          const mine = values.filter((v) => v.startsWith(name));
          expect(mine).toEqual(Array.from({ length: per }, (_, i) => `${name}${i}`));
        }
        // Both gateways race on the same expected last offset, several times each.
        const last = 2 * per - 1;
        const race = await Promise.allSettled(
          [a, b, a, b].map((log, i) =>
            log.append('shared', 0, [{ key: null, value: enc(`race${i}`) }], { expectedLastOffset: last }),
          ),
        );
        const won = race.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const lost of race.filter((r) => r.status === 'rejected')) {
          expect((lost as PromiseRejectedResult).reason).toMatchObject({ code: 'EXPECTED_OFFSET_MISMATCH' });
        }
        await a.waitForAppend('shared', 0, last + 1);
        expect((await a.offsets('shared', 0)).next).toBe(last + 2);
        expect((await b.offsets('shared', 0)).next).toBe(last + 2);
      } finally {
        await a.close();
        await b.close();
        await deleteNamespace(urls, namespace);
      }
    }, 60_000);
  },
);

/**
 * A message whose `Tributary-Prev` header contradicts what a gateway applied (what a gateway
 * whose consumer is served by a diverged copy of the stream receives) is never applied: neither
 * by the gateway that wrote the message named nor by a reader. Here a raw client stores one
 * naming another message at sequence 2 than the one JetStream acknowledged there.
 */
describe.skipIf(NATS_SERVER_BINARY === undefined && !required)('JetStream log: diverged history', () => {
  it('does not apply a message that names another message than the one applied at its sequence', async () => {
    servers ??= startNatsServers();
    const { urls } = await servers;
    const namespace = `div${process.pid}`;
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    const dec = (b: Uint8Array | null): string => (b === null ? '' : new TextDecoder().decode(b));
    const writer = await openJetStreamLog({ servers: urls, namespace });
    const reader = await openJetStreamLog({ servers: urls, namespace });
    const nc = await connect({ servers: [...urls] });
    try {
      const { id } = await writer.createTopic('t');
      for (const value of ['a', 'b', 'c']) await writer.append('t', 0, [{ key: null, value: enc(value) }]);
      expect((await reader.read('t', 0, 0)).map((r) => dec(r.value))).toEqual(['a', 'b', 'c']);
      const forged = encodeCommand({
        op: 'append',
        now: Date.now(),
        records: [{ key: null, value: enc('forged') }],
        transactional: false,
      });
      forged.headers.set('Tributary-Prev', '2 not-the-message-at-2');
      await nc.jetstream().publish(`${namespace}.${id}.0`, forged.payload, {
        headers: forged.headers,
        msgID: 'forged.1',
      });
      // Both gateways replay the partition from the stream (leaving the waits below with an
      // error), and stop again before the forged message, as often as they see it.
      const waits = [writer, reader].map((log) =>
        log.waitForAppend('t', 0, 3, AbortSignal.timeout(3000)).then(
          () => 'applied',
          (error: { code?: string; name?: string }) => error.code ?? error.name,
        ),
      );
      const outcomes = await Promise.all(waits);
      expect(outcomes).not.toContain('applied');
      for (const log of [writer, reader]) {
        const values = (await log.read('t', 0, 0)).map((r) => dec(r.value));
        expect(values).not.toContain('forged');
        expect(['a', 'b', 'c'].slice(0, values.length)).toEqual(values);
      }
    } finally {
      await nc.close();
      await writer.close();
      await reader.close();
      await deleteNamespace(urls, namespace);
    }
  }, 60_000);
});
