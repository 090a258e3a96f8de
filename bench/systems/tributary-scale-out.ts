/**
 * @module bench/systems/tributary-scale-out
 * Tributary past one machine (docs/scale-out.md): `g` gateways, each the built server with
 * `--log nats://…` (`tributary serve`, the same as `tributary`), over a JetStream cluster the
 * harness starts on free ports: one node with R1 streams or three nodes with R3 streams. Ids
 * `tributary-js-r<R>-g<G>`; `--systems tributary-js` asks for them (with `--replicas 1,3` and
 * `--gateways 1,2,3`, beside `tributary`, `nats` and `nats-r3`).
 *
 * Clients spread over the gateways (`Endpoint.gatewayPorts`, `./tributary-client.ts`):
 * publishers round-robin from the first gateway, subscribers from the second, so with two or more
 * gateways every delivery measured crosses JetStream from one gateway to another. Topics are
 * created through the first gateway; the others learn of them from the catalog. The memory
 * columns are the first gateway's.
 */
import { mkdir, rm } from 'node:fs/promises';
import { findBinary, freePort, LOOPBACK, SERVER_START_TIMEOUT_MS } from '../lib/procs.js';
import { BUILT_CLI } from './build.js';
import { startNatsCluster } from './nats.js';
import { startNodeBuilt } from './node-server.js';
import { serveArgs, serverNodeFlags, tributarySystem } from './tributary.js';
import type { GatewayCount, JetStreamReplicas, ScaleOutSystemId, SystemModule } from './types.js';

/** The scale-out system with `gateways` gateways over an R`replicas` JetStream cluster. */
export function scaleOutSystem(replicas: JetStreamReplicas, gateways: GatewayCount): SystemModule {
  const id: ScaleOutSystemId = `tributary-js-r${replicas}-g${gateways}`;
  const base = tributarySystem({
    id,
    label: `R${replicas} ${gateways}gw`,
    description:
      `${gateways} Tributary gateway${gateways > 1 ? 's' : ''} (built, as \`tributary\`, --log nats://…) over ` +
      (replicas === 1 ? 'one nats-server -js (R1)' : 'a 3-node nats-server -js cluster (R3)') +
      ', clients spread over the gateways',
    capabilities: {
      publish: ['durable'],
      latency: 'log',
      fanout: 'log',
      replay: true,
      notes: { 'publish:always': 'JetStream decides when it syncs (nats-server 2.9 has no fsync per write)' },
    },
    async serveArgs(dir, context) {
      const nats = await startNatsCluster(context, replicas);
      const logArgs = [
        '--log',
        `nats://${nats.urls.map((url) => url.replace('nats://', '')).join(',')}`,
        '--log-replicas',
        String(replicas),
        // One gateway per machine in production; here they share one, so no fixed-port listeners.
        '--mqtt-port',
        '0',
        '--kafka-port',
        '0',
      ];
      // The gateways after the first, one at a time (starting them together on a busy machine
      // is what makes start-ups time out); the harness starts the first.
      const ports: number[] = [];
      for (let gateway = 2; gateway <= gateways; gateway++) {
        const port = await freePort();
        const data = `${dir}-gateway${gateway}`;
        await mkdir(data, { recursive: true });
        context.onStop(() => rm(data, { recursive: true, force: true }));
        const started = Date.now();
        await startNodeBuilt(
          context,
          `tributary gateway ${gateway}`,
          BUILT_CLI,
          [...serveArgs(port, data), ...logArgs],
          serverNodeFlags(),
          { port, timeoutMs: SERVER_START_TIMEOUT_MS },
        );
        context.note(
          `  gateway ${gateway} listening on ${LOOPBACK}:${port} after ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
        ports.push(port);
      }
      context.addPorts(ports);
      return logArgs;
    },
  });
  return {
    ...base,
    async unavailable() {
      if (findBinary('nats-server') === undefined) {
        return 'skipped: nats-server not found (install: apt-get install nats-server)';
      }
      return base.unavailable();
    },
    async start(context) {
      const started = Date.now();
      const process = await base.start(context);
      context.note(
        `  ${id}: gateway 1 listening on ${LOOPBACK}:${context.port} after ${((Date.now() - started) / 1000).toFixed(1)} s (with the cluster and the other gateways)`,
      );
      return process;
    },
  };
}
