/**
 * @module tributary-sync/client
 * The browser-safe client SDK. It imports nothing from Node, so bundlers can ship it to browsers;
 * it reaches the server through an injected transport (the global `WebSocket` by default). In
 * Node 20, which has no global `WebSocket`, import from `tributary-sync/client/node` instead.
 *
 * It also carries what clients and servers must agree on: the error type and the key → partition
 * function (Kafka's murmur2, so Kafka clients and Tributary clients agree).
 *
 * @example
 * import { connect, text } from 'tributary-sync/client';
 * const client = await connect({ url: 'wss://example.com/v1/ws' });
 * const producer = client.producer({ topic: 'orders' });
 * await producer.send({ key: 'user-42', value: JSON.stringify({ total: 12 }) });
 * for await (const record of client.consumer({ topic: 'orders', from: 'latest' })) {
 *   console.log(record.offset, text(record.value));
 * }
 *
 * @example
 * const inventory = client.collection('inventory');
 * const lowStock = inventory.subscribe({ where: [{ field: 'stock', op: '<', value: 5 }] });
 * lowStock.on('change', () => render(lowStock.current()));
 * await inventory.increment('sku-1', 'stock', -1); // shows at once, confirmed or rolled back
 *
 * @example
 * import { kafkaPartition } from 'tributary-sync/client';
 * const partition = kafkaPartition(new TextEncoder().encode('user-42'), 12);
 */
export { type ErrorCode, isTributaryError, TributaryError } from '../errors.js';
export type {
  AppendResult,
  EventInput,
  EventStore,
  EventSubscription,
  ExpectedRevision,
  GroupDelivery as StreamGroupDelivery,
  GroupInfo as StreamGroupInfo,
  GroupSettings as StreamGroupSettings,
  ParkedEvent as StreamParkedEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  StreamMetadata,
  StreamMetadataState,
  StreamSnapshot,
  SubscribeOptions as StreamSubscribeOptions,
  SubscriptionTarget,
} from '../es/streams/types.js';
export { kafkaPartition, murmur2 } from '../protocol/kafka/primitives/murmur2.js';
export { Admin, type TopicConfig, type TopicDescription } from './admin.js';
export type { AtomicAppend, AtomicCommitRequest, AtomicCommitResult } from './atomic.js';
export type { ClientAuth, TokenProvider } from './auth.js';
export type { ReconnectOptions } from './backoff.js';
export {
  type ClientCloseOptions,
  type ClientEvents,
  type ConnectOptions,
  connect,
  TributaryClient,
} from './client.js';
export {
  COLLECTION_DEFAULTS,
  Collection,
  type CollectionEvents,
  type CollectionOptions,
} from './collections/collection.js';
export { ITERATOR_BUFFER_MAX, LiveQuery, type LiveQueryEvents } from './collections/live-query.js';
export type {
  ChangeCause,
  ChangeSet,
  CollectionInfo,
  ComparisonOp,
  Condition,
  ConsistencyMode,
  CreateCollectionOptions,
  DocState,
  Item,
  Json,
  JsonObject,
  LiveItem,
  LiveQueryEvent,
  LiveQueryFilter,
  PartitionOffset,
  Query,
  QueryResult,
  ReadConsistency,
  ReadResult,
  Rollback,
  TransactCondition,
  TransactResult,
  WriteDescription,
  WriteOp,
  WriteOptions,
  WriteResult,
} from './collections/types.js';
export type { Session } from './connection.js';
export { Consumer, type ConsumerEvents, type ConsumerOptions } from './consumer.js';
export { GroupConsumer, type GroupConsumerEvents, type GroupConsumerOptions } from './group-consumer.js';
export type { Isolation, StartPosition } from './partition-stream.js';
export { Producer, type ProducerCloseOptions, type ProducerOptions } from './producer.js';
export type { RecordsListener } from './record-queue.js';
export {
  type Bytes,
  type ConsumerRecord,
  type ProducerRecord,
  type RecordHeader,
  type RecordMetadata,
  text,
} from './records.js';
export type { StreamGroupConsumeOptions, StreamGroupMember } from './streams/groups.js';
export { ClientEventStreams } from './streams/index.js';
export {
  type AllReduceOptions,
  type SyncCheckpoint,
  type SyncGenerationChange,
  type SyncGroupEvents,
  type SyncGroupHistory,
  SyncGroupMember,
  type SyncGroupOptions,
  type SyncStepResult,
  type Tensor,
} from './sync-groups/index.js';
export type { Transport, TransportEvents, TransportFactory } from './transport.js';
export { type WebSocketConstructor, type WebSocketLike, webSocketTransport } from './transports/websocket.js';
