/**
 * @module server/front/kafka/acl
 * What every Kafka API needs, in one table ({@link KAFKA_ACCESS}), and the two ways it is
 * enforced. The rules themselves are never evaluated here: every decision is the session's
 * (`session.authorize`, one cached decision of the one policy, server/auth/acl.ts).
 *
 * - `via`: the handler calls the broker, which with security on is the session's guarded view
 *   (server/auth/guard.ts); that call checks the permission (the guard's `ACCESS` entry, which
 *   a test keeps equal to this table) and its `…_ACCESS_DENIED` becomes the Kafka code of
 *   the topic or partition: TOPIC_AUTHORIZATION_FAILED (29).
 * - no `via`: the Kafka group coordinator is not part of the broker API, so the handler checks
 *   with {@link authorizeKafka} before touching it: GROUP_AUTHORIZATION_FAILED (30), or 29 for
 *   a topic.
 * - `filtered`: lists leave out what the session may not describe instead of refusing.
 *
 * Kafka's own mapping (docs.confluent.io "Authorization using ACLs", Kafka's `KafkaApis`),
 * with these differences, shared by every Tributary front end: creating a topic needs `create`
 * on the topic (Kafka also accepts `create` on the cluster); InitProducerId without a
 * transactional id needs nothing (a producer id writes nothing; every produce with it needs
 * `write` on its topic; Kafka asks for `write` on any topic); ListOffsets by timestamp needs
 * `read` (it reads the record). Kafka's TransactionalId resource is `transactionalId`: `write`
 * for InitProducerId with an id, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn
 * and a transactional Produce; `describe` for FindCoordinator of a transaction (key type 1).
 * Denials are TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53).
 */
import { isTributaryError } from '../../../errors.js';
import type { KafkaApiName } from '../../../protocol/kafka/requests/index.js';
import type { GuardedCall } from '../../auth/guard.js';
import type { Operation, ResourceType } from '../../auth/types.js';
import type { ConnectionScope } from './context.js';

export type KafkaNeed = readonly [ResourceType, Operation];

export interface KafkaAccess {
  readonly needs: readonly KafkaNeed[];
  /** The guarded broker calls that check `needs` (server/auth/guard.ts). */
  readonly via?: readonly GuardedCall[];
  /** Lists only what the session may describe. */
  readonly filtered?: boolean;
}

/** Every API and what it needs; a compile error names an API added without an entry. */
export const KAFKA_ACCESS = {
  // Before and during authentication: nothing.
  ApiVersions: { needs: [] },
  SaslHandshake: { needs: [] },
  SaslAuthenticate: { needs: [] },
  // Topics and records
  /** With a transactional id (a transactional producer's batches): `write` on it too. */
  Produce: {
    needs: [
      ['topic', 'write'],
      ['transactionalId', 'write'],
    ],
    via: ['appendBatch'],
  },
  Fetch: { needs: [['topic', 'read']], via: ['fetch', 'subscribe'] },
  ListOffsets: { needs: [['topic', 'describe']], via: ['offsets', 'resolvePosition'] },
  /** Named topics: describe, and `create` to auto-create a missing one; all topics: filtered. */
  Metadata: {
    needs: [
      ['topic', 'describe'],
      ['topic', 'create'],
    ],
    via: ['describeTopic', 'listTopics', 'createTopic'],
    filtered: true,
  },
  CreateTopics: { needs: [['topic', 'create']], via: ['createTopic'] },
  DeleteTopics: { needs: [['topic', 'delete']], via: ['deleteTopic'] },
  /** `alter` on the topic (which implies the `describe` its current count needs). */
  CreatePartitions: {
    needs: [
      ['topic', 'alter'],
      ['topic', 'describe'],
    ],
    via: ['addPartitions', 'describeTopic'],
  },
  /** `delete` on the topic (which implies the `describe` that offset -1, the high watermark, needs). */
  DeleteRecords: {
    needs: [
      ['topic', 'delete'],
      ['topic', 'describe'],
    ],
    via: ['deleteRecords', 'offsets'],
  },
  /** Idempotent: nothing (see above); with a transactional id: `write` on it. */
  InitProducerId: { needs: [['transactionalId', 'write']], via: ['initProducer'] },
  // Consumer groups (and transaction coordinators: key type 1)
  FindCoordinator: {
    needs: [
      ['group', 'describe'],
      ['transactionalId', 'describe'],
    ],
  },
  JoinGroup: { needs: [['group', 'read']] },
  SyncGroup: { needs: [['group', 'read']] },
  Heartbeat: { needs: [['group', 'read']] },
  LeaveGroup: { needs: [['group', 'read']] },
  OffsetCommit: {
    needs: [
      ['group', 'read'],
      ['topic', 'read'],
    ],
  },
  OffsetFetch: {
    needs: [
      ['group', 'describe'],
      ['topic', 'describe'],
    ],
    via: ['fetchOffsets'],
    filtered: true,
  },
  DescribeGroups: { needs: [['group', 'describe']] },
  ListGroups: { needs: [['group', 'describe']], filtered: true },
  // Transactions: `write` on the transactional id first (Kafka's TransactionalId resource)
  AddPartitionsToTxn: {
    needs: [
      ['transactionalId', 'write'],
      ['topic', 'write'],
    ],
  },
  AddOffsetsToTxn: {
    needs: [
      ['transactionalId', 'write'],
      ['group', 'read'],
    ],
  },
  TxnOffsetCommit: {
    needs: [
      ['transactionalId', 'write'],
      ['group', 'read'],
      ['topic', 'read'],
    ],
  },
  EndTxn: { needs: [['transactionalId', 'write']] },
  AlterConfigs: {
    needs: [
      ['topic', 'alter'],
      ['topic', 'describe'],
      ['cluster', 'alter'],
    ],
    via: ['describeTopic'],
  },
  IncrementalAlterConfigs: {
    needs: [
      ['topic', 'alter'],
      ['topic', 'describe'],
      ['cluster', 'alter'],
    ],
    via: ['describeTopic'],
  },
  DescribeCluster: { needs: [['cluster', 'describe']] },
  // Group administration
  DeleteGroups: { needs: [['group', 'delete']] },
  OffsetDelete: {
    needs: [
      ['group', 'delete'],
      ['topic', 'read'],
    ],
  },
  // Configs: a topic's through the broker; the broker's on the cluster resource
  DescribeConfigs: {
    needs: [
      ['topic', 'describe'],
      ['cluster', 'describe'],
    ],
    via: ['describeTopic'],
  },
} as const satisfies Record<KafkaApiName, KafkaAccess>;

/** The operation `api` needs on a resource of type `resource`. */
export function kafkaNeed(api: KafkaApiName, resource: ResourceType): Operation {
  for (const [type, operation] of KAFKA_ACCESS[api].needs as readonly KafkaNeed[]) {
    if (type === resource) return operation;
  }
  throw new Error(`KAFKA_ACCESS.${api} names no ${resource} operation`);
}

/**
 * Checks what `api` needs on the named resource: 0 when allowed, else the Kafka code of the
 * denial (29 topic, 30 group, 31 cluster, 53 transactional id; 58 once the session has ended). Denials are audited
 * by the session.
 */
export function authorizeKafka(
  scope: ConnectionScope,
  api: KafkaApiName,
  resource: ResourceType,
  name: string,
): number {
  try {
    scope.session.authorize(resource, name, kafkaNeed(api, resource));
    return 0;
  } catch (error) {
    if (isTributaryError(error)) return error.kafkaCode;
    throw error;
  }
}

/** Whether the session may do what `api` needs on the named resource (filters; not audited). */
export function allowedKafka(
  scope: ConnectionScope,
  api: KafkaApiName,
  resource: ResourceType,
  name: string,
): boolean {
  return scope.session.allowed(resource, name, kafkaNeed(api, resource));
}
