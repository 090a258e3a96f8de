/**
 * @module server/front/kafka/handlers
 * The handler of every Kafka API the front end speaks, by API name (one module each).
 */
import type { KafkaApiName } from '../../../../protocol/kafka/requests/index.js';
import { handleAddOffsetsToTxn } from './add-offsets-to-txn.js';
import { handleAddPartitionsToTxn } from './add-partitions-to-txn.js';
import { handleAlterConfigs, handleIncrementalAlterConfigs } from './alter-configs.js';
import { handleApiVersions } from './api-versions.js';
import { handleCreatePartitions } from './create-partitions.js';
import { handleCreateTopics } from './create-topics.js';
import { handleDeleteGroups, handleOffsetDelete } from './delete-groups.js';
import { handleDeleteRecords } from './delete-records.js';
import { handleDeleteTopics } from './delete-topics.js';
import { handleDescribeCluster } from './describe-cluster.js';
import { handleDescribeConfigs } from './describe-configs.js';
import { handleEndTxn } from './end-txn.js';
import { handleFetchByTopicId } from './fetch-by-topic-id.js';
import { handleFindCoordinators } from './find-coordinators.js';
import { handleDescribeGroups, handleListGroups } from './groups-admin.js';
import { handleHeartbeat } from './heartbeat.js';
import { handleInitProducerId } from './init-producer-id.js';
import { handleJoinGroup } from './join-group.js';
import { handleLeaveGroup } from './leave-group.js';
import { handleListOffsets } from './list-offsets.js';
import { handleMetadata } from './metadata.js';
import { handleOffsetCommit } from './offset-commit.js';
import { handleOffsetFetches } from './offset-fetches.js';
import { handleProduce } from './produce.js';
import { handleSaslAuthenticate } from './sasl-authenticate.js';
import { handleSaslHandshake } from './sasl-handshake.js';
import { handleSyncGroup } from './sync-group.js';
import { handleTxnOffsetCommit } from './txn-offset-commit.js';
import type { Handler } from './types.js';

export { CloseConnection, type Handler, type RequestOf } from './types.js';

export const HANDLERS: { readonly [K in KafkaApiName]: Handler<K> } = {
  ApiVersions: handleApiVersions,
  Metadata: handleMetadata,
  Produce: handleProduce,
  Fetch: handleFetchByTopicId,
  ListOffsets: handleListOffsets,
  FindCoordinator: handleFindCoordinators,
  JoinGroup: handleJoinGroup,
  SyncGroup: handleSyncGroup,
  Heartbeat: handleHeartbeat,
  LeaveGroup: handleLeaveGroup,
  OffsetCommit: handleOffsetCommit,
  OffsetFetch: handleOffsetFetches,
  DescribeGroups: handleDescribeGroups,
  ListGroups: handleListGroups,
  CreateTopics: handleCreateTopics,
  DeleteTopics: handleDeleteTopics,
  InitProducerId: handleInitProducerId,
  SaslHandshake: handleSaslHandshake,
  SaslAuthenticate: handleSaslAuthenticate,
  AddPartitionsToTxn: handleAddPartitionsToTxn,
  AddOffsetsToTxn: handleAddOffsetsToTxn,
  EndTxn: handleEndTxn,
  TxnOffsetCommit: handleTxnOffsetCommit,
  DescribeConfigs: handleDescribeConfigs,
  DeleteGroups: handleDeleteGroups,
  OffsetDelete: handleOffsetDelete,
  AlterConfigs: handleAlterConfigs,
  IncrementalAlterConfigs: handleIncrementalAlterConfigs,
  DescribeCluster: handleDescribeCluster,
  CreatePartitions: handleCreatePartitions,
  DeleteRecords: handleDeleteRecords,
};
