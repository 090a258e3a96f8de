/**
 * @module client/admin
 * Topic and collection administration and point reads: create, delete, list and describe topics
 * and live collections; read records at an offset; a partition's offsets.
 *
 * @example
 * await client.admin.createTopic('orders', { partitions: 3, retentionMs: 7 * 86_400_000 });
 * const topics = await client.admin.listTopics();
 * await client.admin.createCollection('inventory', { mode: 'strong' });
 */
import type { WireTopicConfig, WireTopicDescription } from '../protocol/native/types.js';
import type { CollectionInfo, CreateCollectionOptions } from './collections/types.js';
import type { ClientConnection } from './connection.js';
import { type ConsumerRecord, toConsumerRecord } from './records.js';

export type TopicConfig = WireTopicConfig;
export type TopicDescription = WireTopicDescription;

export class Admin {
  readonly #connection: ClientConnection;

  constructor(connection: ClientConnection) {
    this.#connection = connection;
  }

  /** Creates a topic; `TOPIC_EXISTS` if there is one. Missing config fields take the server's defaults. */
  async createTopic(name: string, config: Partial<TopicConfig> = {}): Promise<TopicDescription> {
    return (await this.#connection.request('createTopic', { name, config }, 'unsafe')).topic;
  }

  async deleteTopic(name: string): Promise<void> {
    await this.#connection.request('deleteTopic', { name }, 'unsafe');
  }

  async listTopics(): Promise<TopicDescription[]> {
    return [...(await this.#connection.request('listTopics', {}, 'safe')).topics];
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    return (await this.#connection.request('describeTopic', { name }, 'safe')).topic;
  }

  /**
   * Records of one partition from `offset` on (at most `maxRecords`, about `maxBytes`);
   * `isolation: 'committed'` leaves out records of undecided and aborted atomic commits.
   */
  async fetch(
    topic: string,
    partition: number,
    offset: number,
    options: { maxRecords?: number; maxBytes?: number; isolation?: 'uncommitted' | 'committed' } = {},
  ): Promise<ConsumerRecord[]> {
    const { records } = await this.#connection.request(
      'fetch',
      {
        topic,
        partition,
        offset,
        ...(options.maxRecords === undefined ? {} : { maxRecords: options.maxRecords }),
        ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
        ...(options.isolation === undefined ? {} : { isolation: options.isolation }),
      },
      'safe',
    );
    return records.map((r) => toConsumerRecord(topic, partition, r));
  }

  /**
   * The partition's earliest readable offset, the next offset to be written and (from servers
   * that have atomic commits) `lastStable`, where committed readers stop.
   */
  async offsets(
    topic: string,
    partition: number,
  ): Promise<{ earliest: number; next: number; lastStable?: number }> {
    return this.#connection.request('offsets', { topic, partition }, 'safe');
  }

  /** Creates a live collection; `COLLECTION_EXISTS` if there is one. */
  async createCollection(name: string, options: CreateCollectionOptions): Promise<CollectionInfo> {
    const params = {
      name,
      mode: options.mode,
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
      ...(options.fsync === undefined ? {} : { fsync: options.fsync }),
    };
    return (await this.#connection.request('createCollection', params, 'unsafe')).collection;
  }

  async deleteCollection(name: string): Promise<void> {
    await this.#connection.request('deleteCollection', { name }, 'unsafe');
  }

  async listCollections(): Promise<CollectionInfo[]> {
    return [...(await this.#connection.request('listCollections', {}, 'safe')).collections];
  }

  async describeCollection(name: string): Promise<CollectionInfo> {
    return (await this.#connection.request('describeCollection', { name }, 'safe')).collection;
  }
}
