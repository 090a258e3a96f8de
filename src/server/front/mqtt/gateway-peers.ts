/**
 * @module server/front/mqtt/gateway-peers
 * MQTT across gateways sharing one log (docs/scale-out.md, "MQTT across gateways"): a client id
 * is one connection across all of them.
 *
 * - **The claim decides.** A CONNECT first claims its client id in the shared table
 *   `mqtt_clients` (one entry per client id naming the gateway that accepted it last), writing
 *   over the revision it read: two CONNECTs racing on two gateways are ordered by the table, and
 *   the newest claim owns the client id. A CONNECT whose claim was overtaken by the time it is
 *   accepted is taken over at once (`holds`, checked in the gateway's turn for the client id).
 * - **Every other gateway gives the client id up.** Each live gateway is asked, over the
 *   gateways' request channel (`broker/cluster.ts`), to give the client id up: it ends its
 *   connection of it (DISCONNECT 0x8E), stores its session in `__mqtt.sessions` and forgets it
 *   (`yieldClientId`), then answers; the accepting gateway then reads the session from the log.
 *   A connection there whose own claim is newer than the request's stays (the requesting CONNECT
 *   is the one overtaken). A gateway is waited for until it answers or is gone from the registry,
 *   never only for a timeout: one that answers late may still hold a connection and its
 *   session. One that stays alive without answering for `holderWaitMs` fails the CONNECT.
 *
 * @example
 * const peers = new MqttGatewayPeers(cluster, logger);
 * const mqtt = new MqttFrontEnd({ ..., peers });
 * peers.serve((clientId, principal, cleanStart) => mqtt.yieldClientId(clientId, principal, cleanStart));
 */
import type { Logger } from 'pino';
import { type GatewayCluster, type SharedTable, writeOverNewest } from '../../../broker/cluster.js';
import { isTributaryError, TributaryError } from '../../../errors.js';
import type { MqttClaim, MqttPeers } from './context.js';

const METHOD = 'mqttTakeOver';
/** The shared table of client id claims. */
const CLAIMS_TABLE = 'mqtt_clients';
/** Longest wait for one answer of another gateway before asking again. */
const TAKE_OVER_TIMEOUT_MS = 3000;
/** Longest wait for a live gateway to give the client id up. */
const HOLDER_WAIT_MS = 30_000;
/** Claims overtaken one after the other before a CONNECT gives up (each is another CONNECT). */
const CLAIM_ATTEMPTS = 32;

interface TakeOverRequest {
  readonly clientId: string;
  readonly principal: string;
  readonly cleanStart: boolean;
  /** The revision of the requesting CONNECT's claim: a connection here with a newer one stays. */
  readonly revision: number;
}

export interface MqttGatewayPeersOptions {
  /** Longest wait for one answer before asking again (default 3 s). */
  readonly timeoutMs?: number;
  /** Longest wait for a live gateway to give the client id up (default 30 s). */
  readonly holderWaitMs?: number;
}

export class MqttGatewayPeers implements MqttPeers {
  readonly #timeoutMs: number;
  readonly #holderWaitMs: number;

  constructor(
    private readonly cluster: GatewayCluster,
    private readonly logger: Logger,
    options: MqttGatewayPeersOptions = {},
  ) {
    this.#timeoutMs = options.timeoutMs ?? TAKE_OVER_TIMEOUT_MS;
    this.#holderWaitMs = options.holderWaitMs ?? HOLDER_WAIT_MS;
  }

  async takeOver(clientId: string, principal: string, cleanStart: boolean): Promise<MqttClaim | false> {
    const claims = await this.cluster.table(CLAIMS_TABLE);
    const { claim, replaced } = await this.#claim(claims, clientId);
    const body: TakeOverRequest = { clientId, principal, cleanStart, revision: claim.revision };
    const self = this.cluster.self.id;
    const others = this.cluster.gateways().filter((gateway) => gateway.id !== self);
    const answers = await Promise.all(others.map((gateway) => this.#untilAnswered(gateway.id, body)));
    if (answers.every(Boolean)) return claim;
    // Held for another principal, which keeps it: give the claim back to its holder.
    if (replaced !== null) await claims.swap(clientId, replaced, claim.revision).catch(() => null);
    return false;
  }

  async holds(clientId: string, claim: MqttClaim): Promise<boolean> {
    const claims = await this.cluster.table(CLAIMS_TABLE);
    return (await claims.get(clientId)).revision === claim.revision;
  }

  /** Answers other gateways' takeovers with `yieldClientId` (false: held by another principal). */
  serve(
    yieldClientId: (
      clientId: string,
      principal: string,
      cleanStart: boolean,
      revision: number,
    ) => Promise<boolean>,
  ): void {
    this.cluster.handle(METHOD, async (body) => {
      const request = parseRequest(body);
      return yieldClientId(request.clientId, request.principal, request.cleanStart, request.revision);
    });
  }

  /** Writes this gateway's claim over the newest one: the claim and the value it replaced. */
  async #claim(
    claims: SharedTable,
    clientId: string,
  ): Promise<{ readonly claim: MqttClaim; readonly replaced: Uint8Array | null }> {
    const value = new TextEncoder().encode(JSON.stringify({ gateway: this.cluster.self.id }));
    // Another CONNECT claiming it between the read and the write: claim over it.
    const written = await writeOverNewest(claims, clientId, value, CLAIM_ATTEMPTS);
    if (written !== null) return { claim: { revision: written.revision }, replaced: written.replaced };
    throw new TributaryError('TIMEOUT', { ms: 0, what: `claiming MQTT client id "${clientId}"` });
  }

  /**
   * The answer of another gateway, waited for while it is alive: one that answers late may still
   * hold a connection of the client id and its session.
   */
  async #untilAnswered(gatewayId: string, body: TakeOverRequest): Promise<boolean> {
    const deadline = Date.now() + this.#holderWaitMs;
    for (;;) {
      try {
        return (await this.cluster.request(gatewayId, METHOD, body, this.#timeoutMs)) !== false;
      } catch (error) {
        if (!this.#live(gatewayId)) return true; // gone, with its connections
        if (!unanswered(error)) {
          // It answered with an error (starting, before it serves MQTT; stopping, its connections
          // closed; its session store failed): it holds no connection of the client id.
          this.logger.warn(
            { err: error, gateway: gatewayId, clientId: body.clientId },
            'MQTT takeover refused',
          );
          return true;
        }
        if (Date.now() >= deadline) {
          throw new TributaryError(
            'TIMEOUT',
            {
              ms: this.#holderWaitMs,
              what: `gateway ${gatewayId} giving up MQTT client id "${body.clientId}"`,
            },
            { cause: error },
          );
        }
        this.logger.warn(
          { err: error, gateway: gatewayId, clientId: body.clientId },
          'MQTT takeover: a gateway has not given the client id up yet',
        );
        if (!isTributaryError(error, 'TIMEOUT')) await sleep(Math.min(500, this.#timeoutMs));
      }
    }
  }

  #live(gatewayId: string): boolean {
    return this.cluster.gateways().some((gateway) => gateway.id === gatewayId);
  }
}

/** No answer came (it may not have been delivered, or the gateway is slow): ask again. */
function unanswered(error: unknown): boolean {
  return (
    !isTributaryError(error) ||
    isTributaryError(error, 'TIMEOUT') ||
    isTributaryError(error, 'CONNECTION_LOST')
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseRequest(body: unknown): TakeOverRequest {
  const request = body as Partial<TakeOverRequest> | null;
  if (
    request === null ||
    typeof request !== 'object' ||
    typeof request.clientId !== 'string' ||
    typeof request.principal !== 'string' ||
    typeof request.cleanStart !== 'boolean' ||
    (request.revision !== undefined && !Number.isSafeInteger(request.revision))
  ) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'malformed MQTT takeover request' });
  }
  return {
    clientId: request.clientId,
    principal: request.principal,
    cleanStart: request.cleanStart,
    // From a gateway that does not claim client ids (an older version): it takes over as before.
    revision: request.revision ?? Number.MAX_SAFE_INTEGER,
  };
}
