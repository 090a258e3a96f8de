/**
 * @module server/front/kafka/context
 * What every Kafka API handler gets: the broker and its Kafka group coordinator, the address
 * clients are told to connect to, limits, logging and metrics (`KafkaContext`), plus the
 * connection it serves (`ConnectionScope`). Also the mapping of errors to Kafka error codes.
 */
import type { Logger } from 'pino';
import type { GatewayCluster } from '../../../broker/cluster.js';
import type { KafkaGroupCoordinator } from '../../../broker/kafka-group-coordinator.js';
import type { TransactionCoordinator } from '../../../broker/transactions/coordinator.js';
import type { TransactionRoutes } from '../../../broker/transactions/routes.js';
import type { Broker } from '../../../broker/types.js';
import { isTributaryError } from '../../../errors.js';
import { KafkaErrorCode, kafkaErrorName } from '../../../protocol/kafka/error-codes.js';
import type { QuotaAccount, Quotas } from '../../auth/quotas.js';
import type { Security, Session } from '../../auth/types.js';
import type { ServerMetrics } from '../../metrics.js';
import { frontEndSettings, type ServerConfig, type SettingNameOf } from '../../settings.js';
import type { KafkaAuthentication } from './authentication.js';

/**
 * The limits of the Kafka front end: the `kafka*` settings of `server/settings.ts`
 * (`SERVER_SETTINGS`: defaults, ranges, doc lines) other than the listener's port and host.
 */
export type KafkaFrontEndLimits = Pick<ServerConfig, KafkaLimitName>;
type KafkaLimitName = Exclude<SettingNameOf<'kafka'>, 'kafkaPort' | 'kafkaAdvertisedHost'>;

/** The `kafka*` limits: names, defaults and the resolving of a front end's `limits` option. */
export const KAFKA_LIMITS = frontEndSettings('kafka', ['kafkaPort', 'kafkaAdvertisedHost']);

export const KAFKA_LIMIT_NAMES: readonly KafkaLimitName[] = KAFKA_LIMITS.names;

export const KAFKA_FRONT_END_DEFAULTS: KafkaFrontEndLimits = KAFKA_LIMITS.defaults;

export interface KafkaContext {
  readonly broker: Broker;
  readonly groups: KafkaGroupCoordinator;
  /** Kafka transactions; undefined: none (transactional requests are refused). */
  readonly transactions: TransactionCoordinator | undefined;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly limits: KafkaFrontEndLimits;
  /**
   * Broker id of this node. Alone, it leads every partition and coordinates every group; with a
   * `cluster`, partitions are spread over the live gateways and groups go to their coordinator.
   */
  readonly nodeId: number;
  /** The gateways sharing the log (docs/scale-out.md); undefined: this node is the whole cluster. */
  readonly cluster: GatewayCluster | undefined;
  /** With `cluster`: where transactional produce is admitted (the id's coordinating gateway). */
  readonly transactionRoutes: TransactionRoutes | undefined;
  readonly clusterId: string;
  /** host:port clients are told to connect to (Metadata, FindCoordinator). */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  /** Metadata requests with `allow_auto_topic_creation` create missing topics (1 partition). */
  readonly autoCreateTopics: boolean;
  /** Quotas per principal (security on); undefined: none, and nothing is counted. */
  readonly quotas: Quotas | undefined;
  /** Authentication and ACLs; undefined: security off, every connection is `local`. */
  readonly security: Security | undefined;
}

/** The connection a request arrived on. */
export interface ConnectionScope {
  /** Kafka's client host form: `/127.0.0.1`. */
  readonly clientHost: string;
  /** Aborted when the connection closes (long polls stop waiting). */
  readonly signal: AbortSignal;
  /** The quota account of the connection's principal; undefined: no quotas. */
  readonly quota: QuotaAccount | undefined;
  /**
   * Stops reading requests for `ms` (Kafka's channel muting, KIP-219): called with the throttle
   * time of a response, which is written at once.
   */
  throttle(ms: number): void;
  /** Who the connection is: the session every handler authorizes against (acl.ts). */
  readonly session: Session;
  /** The SASL exchange of the connection (SaslHandshake, SaslAuthenticate). */
  readonly authentication: KafkaAuthentication;
}

/** The Kafka error code for an error thrown by the broker (UNKNOWN_SERVER_ERROR for others). */
export function errorCodeOf(ctx: KafkaContext, error: unknown, what: string): number {
  if (isTributaryError(error)) return error.kafkaCode;
  ctx.logger.error({ err: error }, `Kafka ${what} failed`);
  return KafkaErrorCode.UNKNOWN_SERVER_ERROR;
}

/**
 * Error codes that are normal steps of the protocol, not failures: a JoinGroup v4+ without a
 * member id is answered MEMBER_ID_REQUIRED with one, and every member of a group is told
 * REBALANCE_IN_PROGRESS when the group changes. Counting them would make a healthy group look
 * like an error rate.
 */
const PROTOCOL_STEP_CODES: ReadonlySet<number> = new Set([
  KafkaErrorCode.MEMBER_ID_REQUIRED,
  KafkaErrorCode.REBALANCE_IN_PROGRESS,
]);

/**
 * Counts an error code answered to a client (`tributary_errors_total{frontend="kafka"}`),
 * except the normal protocol steps of {@link PROTOCOL_STEP_CODES}.
 */
export function countError(ctx: KafkaContext, code: number): void {
  if (code === KafkaErrorCode.NONE || PROTOCOL_STEP_CODES.has(code)) return;
  ctx.metrics.errors.inc({ frontend: 'kafka', code: kafkaErrorName(code) });
}

/**
 * Whether this node may answer a request of a transactional id's coordinator (InitProducerId,
 * AddPartitionsToTxn, AddOffsetsToTxn, EndTxn): as {@link coordinatorCheck}, with the id's lease.
 */
export async function transactionCoordinatorCheck(
  ctx: KafkaContext,
  transactionalId: string,
): Promise<number> {
  if (ctx.cluster === undefined) return KafkaErrorCode.NONE;
  try {
    const coordinator = await ctx.cluster.transactionCoordinatorOf(transactionalId);
    return coordinator.id === ctx.cluster.self.id ? KafkaErrorCode.NONE : KafkaErrorCode.NOT_COORDINATOR;
  } catch (error) {
    ctx.logger.warn({ err: error, transactionalId }, 'no coordinator found for a transactional id');
    return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
  }
}

/**
 * Whether this node may answer a group request: NONE alone or when this gateway coordinates the
 * group, NOT_COORDINATOR when another one does (the client looks the coordinator up again), and
 * COORDINATOR_NOT_AVAILABLE when the coordinator cannot be found now.
 */
export async function coordinatorCheck(ctx: KafkaContext, groupId: string): Promise<number> {
  if (ctx.cluster === undefined) return KafkaErrorCode.NONE;
  try {
    const coordinator = await ctx.cluster.coordinatorOf(groupId);
    return coordinator.id === ctx.cluster.self.id ? KafkaErrorCode.NONE : KafkaErrorCode.NOT_COORDINATOR;
  } catch (error) {
    ctx.logger.warn({ err: error, groupId }, 'no coordinator found for a Kafka group');
    return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
  }
}
