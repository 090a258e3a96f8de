/**
 * @module bench/systems
 * Every system the comparison harness knows, keyed by id, in table order (Tributary first).
 */
import { nats } from './nats.js';
import { redis } from './redis.js';
import { socketio } from './socketio.js';
import { tributary } from './tributary.js';
import { tributaryAuth } from './tributary-auth.js';
import type { SystemId, SystemModule } from './types.js';
import { ws } from './ws.js';

export const SYSTEMS: Readonly<Record<SystemId, SystemModule>> = {
  tributary,
  'tributary-auth': tributaryAuth,
  nats,
  redis,
  socketio,
  ws,
};
