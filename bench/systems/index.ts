/**
 * @module bench/systems
 * Every system the comparison harness knows, keyed by id, in table order (Tributary first): the
 * peers of the main suite, then the MQTT suite's (Tributary's MQTT front end, Mosquitto, Aedes).
 */
import { aedes } from './aedes.js';
import { mosquitto } from './mosquitto.js';
import { nats, natsR3 } from './nats.js';
import { redis } from './redis.js';
import { socketio } from './socketio.js';
import { tributary } from './tributary.js';
import { tributaryAuth } from './tributary-auth.js';
import { tributaryJetStream } from './tributary-jetstream.js';
import { tributaryMqtt } from './tributary-mqtt.js';
import { scaleOutSystem } from './tributary-scale-out.js';
import type { SystemId, SystemModule } from './types.js';
import { ws } from './ws.js';

export const SYSTEMS: Readonly<Record<SystemId, SystemModule>> = {
  tributary,
  'tributary-auth': tributaryAuth,
  'tributary-jetstream': tributaryJetStream,
  'tributary-js-r1-g1': scaleOutSystem(1, 1),
  'tributary-js-r1-g2': scaleOutSystem(1, 2),
  'tributary-js-r1-g3': scaleOutSystem(1, 3),
  'tributary-js-r3-g1': scaleOutSystem(3, 1),
  'tributary-js-r3-g2': scaleOutSystem(3, 2),
  'tributary-js-r3-g3': scaleOutSystem(3, 3),
  nats,
  'nats-r3': natsR3,
  redis,
  socketio,
  ws,
  'tributary-mqtt': tributaryMqtt,
  mosquitto,
  aedes,
};
