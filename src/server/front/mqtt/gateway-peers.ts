/**
 * @module server/front/mqtt/gateway-peers
 * MQTT across gateways sharing one log (docs/scale-out.md, "MQTT across gateways"): a client id
 * is one connection across all of them. Before a gateway accepts a CONNECT it asks every other
 * live gateway, over the gateways' request channel (`broker/cluster.ts`), to give the client id
 * up: each ends its connection of it (DISCONNECT 0x8E), stores its session in `__mqtt.sessions`
 * and forgets it (`yieldClientId`), then answers; the accepting gateway then reads the session
 * from the log. The sessions themselves, the retained messages and the records are in the log
 * already; this is the one thing that needs the other gateways to act.
 *
 * A gateway that does not answer within `timeoutMs` is taken as gone (its connections with it)
 * and the CONNECT goes on: a dead gateway stays listed until its registry entry times out.
 *
 * @example
 * const peers = new MqttGatewayPeers(cluster, logger);
 * const mqtt = new MqttFrontEnd({ ..., peers });
 * peers.serve((clientId, principal, cleanStart) => mqtt.yieldClientId(clientId, principal, cleanStart));
 */
import type { Logger } from 'pino';
import type { GatewayCluster } from '../../../broker/cluster.js';
import { TributaryError } from '../../../errors.js';
import type { MqttPeers } from './context.js';

const METHOD = 'mqttTakeOver';
/** Longest wait for another gateway's answer before it is taken as gone. */
const TAKE_OVER_TIMEOUT_MS = 3000;

interface TakeOverRequest {
  readonly clientId: string;
  readonly principal: string;
  readonly cleanStart: boolean;
}

export class MqttGatewayPeers implements MqttPeers {
  constructor(
    private readonly cluster: GatewayCluster,
    private readonly logger: Logger,
    private readonly timeoutMs = TAKE_OVER_TIMEOUT_MS,
  ) {}

  async takeOver(clientId: string, principal: string, cleanStart: boolean): Promise<boolean> {
    const body: TakeOverRequest = { clientId, principal, cleanStart };
    const others = this.cluster.gateways().filter((gateway) => gateway.id !== this.cluster.self.id);
    const answers = await Promise.all(
      others.map(async (gateway) => {
        try {
          return (await this.cluster.request(gateway.id, METHOD, body, this.timeoutMs)) !== false;
        } catch (error) {
          // Gone, or too slow to matter: its connection of the client id is gone with it.
          this.logger.warn(
            { err: error, gateway: gateway.id, clientId },
            'MQTT takeover: a gateway did not answer',
          );
          return true;
        }
      }),
    );
    return answers.every(Boolean);
  }

  /** Answers other gateways' takeovers with `yieldClientId` (false: held by another principal). */
  serve(yieldClientId: (clientId: string, principal: string, cleanStart: boolean) => Promise<boolean>): void {
    this.cluster.handle(METHOD, async (body) => {
      const request = parseRequest(body);
      return yieldClientId(request.clientId, request.principal, request.cleanStart);
    });
  }
}

function parseRequest(body: unknown): TakeOverRequest {
  const request = body as Partial<TakeOverRequest> | null;
  if (
    request === null ||
    typeof request !== 'object' ||
    typeof request.clientId !== 'string' ||
    typeof request.principal !== 'string' ||
    typeof request.cleanStart !== 'boolean'
  ) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'malformed MQTT takeover request' });
  }
  return { clientId: request.clientId, principal: request.principal, cleanStart: request.cleanStart };
}
