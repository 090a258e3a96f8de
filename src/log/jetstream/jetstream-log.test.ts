import { connect } from 'nats';
import { afterAll, describe, it } from 'vitest';
import { describeLogContract } from '../log.contract.js';
import { openJetStreamLog } from './jetstream-log.js';
import { NATS_SERVER_BINARY, type NatsServers, startNatsServers } from './testing/nats-servers.js';

/**
 * The Log contract on a nats-server (JetStream, R1) this file starts on a free port. Each test
 * gets a namespace of its own (streams and catalog bucket), deleted after it.
 */
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';

if (NATS_SERVER_BINARY === undefined && !required) {
  describe('Log contract: jetstream', () => {
    it.skip('skipped: nats-server is absent (apt-get install nats-server)', () => undefined);
  });
} else {
  let servers: Promise<NatsServers> | undefined;
  const nats = (): Promise<NatsServers> => {
    servers ??= startNatsServers();
    return servers;
  };
  afterAll(async () => {
    await (await servers)?.stop();
  });

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
