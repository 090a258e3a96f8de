/**
 * @module bench/systems/tributary-jetstream
 * Tributary on NATS JetStream (docs/scale-out.md): the same built server as `tributary`, started
 * with `--log nats://…` against a nats-server (JetStream, file storage, R1) the harness starts on
 * a free port beside it, so the ratio to `tributary` is what the gateway-over-JetStream layout
 * costs, and the ratio to `nats` what the gateway layer costs over raw JetStream. Asked for by
 * name: `npm run bench -- --systems tributary,tributary-jetstream,nats`.
 */
import { mkdir } from 'node:fs/promises';
import { findBinary, freePort, LOOPBACK, waitForPort } from '../lib/procs.js';
import { tributarySystem } from './tributary.js';
import type { SystemModule } from './types.js';

const base = tributarySystem({
  id: 'tributary-jetstream',
  label: 'trib+js',
  description:
    'Tributary (built, as `tributary`) with --log nats://…: records in a nats-server -js (file storage, R1) started beside it',
  async serveArgs(dir, context) {
    const binary = findBinary('nats-server');
    if (binary === undefined) throw new Error('nats-server not found (apt-get install nats-server)');
    const port = await freePort();
    const store = `${dir}-nats`;
    await mkdir(store, { recursive: true });
    const child = context.spawn('nats-server', binary, [
      '-js',
      '-sd',
      store,
      '-p',
      String(port),
      '-a',
      LOOPBACK,
    ]);
    await waitForPort(port, child);
    return ['--log', `nats://${LOOPBACK}:${port}`];
  },
});

export const tributaryJetStream: SystemModule = {
  ...base,
  async unavailable() {
    if (findBinary('nats-server') === undefined) {
      return 'skipped: nats-server not found (install: apt-get install nats-server)';
    }
    return base.unavailable();
  },
};
