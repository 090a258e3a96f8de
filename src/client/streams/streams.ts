/**
 * @module client/streams/streams
 * `client.streams`: event streams over the native protocol (docs/event-sourcing.md), the
 * `EventStore` interface of the server's store, so code written against it (a projection, a
 * command handler) runs the same in the server process and in any process with the SDK.
 *
 * - Appends carry an id per event (a random UUID when the caller gives none), so the SDK can
 *   send an append again after a reconnect: the store makes a repeated id a no-op answering the
 *   original result. Reads are sent again the same way.
 * - `subscribe` is a catch-up subscription made of long polls: `streamReadAll` after the last
 *   position delivered, which the server answers at once with the events it has or, with none,
 *   when the next one is committed. Each request starts exactly after the last event handed to
 *   `onEvent`, so history and live events come with no gap or duplicate, across reconnects too.
 *
 * @example
 * const client = await connect({ url: 'ws://127.0.0.1:7700/v1/ws' });
 * await client.streams.append('order-17', [{ type: 'OrderPlaced', data: { total: 30 } }], 'no_stream');
 * const sub = await client.streams.subscribe({ target: { category: 'order' }, onEvent: (e) => console.log(e) });
 */

import { isTributaryError, TributaryError } from '../../errors.js';
import type {
  AppendResult,
  EventInput,
  EventStore,
  EventSubscription,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  StreamMetadata,
  StreamMetadataState,
  StreamSnapshot,
  SubscribeOptions,
} from '../../es/streams/types.js';
import type {
  WireEventInput,
  WireJson,
  WireJsonObject,
  WireStreamAppend,
} from '../../protocol/native/types.js';
import type { ClientConnection } from '../connection.js';
import { ClientConsumerGroups } from './groups.js';
import { randomId } from './random-id.js';

/** Events one long poll of a subscription asks for. */
const SUBSCRIPTION_PAGE = 500;
/** How long one long poll waits for a new event (below the request timeout). */
const SUBSCRIPTION_WAIT_MS = 10_000;
/** Pause before asking again after a failed poll the connection will retry. */
const SUBSCRIPTION_RETRY_MS = 500;

function newId(): string {
  return randomId();
}

function toWireEvents(events: readonly EventInput[]): WireEventInput[] {
  if (!Array.isArray(events))
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'events must be an array' });
  return events.map((event) => ({
    type: event.type,
    data: (event.data === undefined ? null : event.data) as WireJson,
    id: event.id ?? newId(),
    ...(event.metadata === undefined ? {} : { metadata: event.metadata as WireJsonObject }),
  }));
}

function toWireAppend(
  stream: string,
  events: readonly EventInput[],
  expected?: ExpectedRevision,
): WireStreamAppend {
  return {
    stream,
    events: toWireEvents(events),
    ...(expected === undefined ? {} : { expectedRevision: expected }),
  };
}

export class ClientEventStreams implements EventStore {
  readonly #connection: ClientConnection;
  readonly #subscriptions = new Set<PollingSubscription>();
  /** Competing-consumer groups (`groups.consume(name, { onEvent })` runs a member). */
  readonly groups: ClientConsumerGroups;

  constructor(connection: ClientConnection) {
    this.#connection = connection;
    this.groups = new ClientConsumerGroups(connection);
  }

  append(
    stream: string,
    events: readonly EventInput[],
    expectedRevision?: ExpectedRevision,
  ): Promise<AppendResult> {
    return this.#connection.request('streamAppend', toWireAppend(stream, events, expectedRevision), 'safe');
  }

  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    const wire = appends.map((a) => toWireAppend(a.stream, a.events, a.expectedRevision));
    const { results } = await this.#connection.request('streamAppendMany', { appends: wire }, 'safe');
    return [...results];
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const { events } = await this.#connection.request('streamRead', { stream, ...options }, 'safe');
    return events as RecordedEvent[];
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const { events } = await this.#connection.request('streamReadAll', { ...options }, 'safe');
    return events as RecordedEvent[];
  }

  async streamRevision(stream: string): Promise<number> {
    return (await this.#connection.request('streamRevision', { stream }, 'safe')).revision;
  }

  setStreamMetadata(
    stream: string,
    metadata: StreamMetadata,
    expectedRevision?: ExpectedRevision,
  ): Promise<AppendResult> {
    return this.#connection.request(
      'streamMetadataSet',
      { stream, metadata, ...(expectedRevision === undefined ? {} : { expectedRevision }) },
      // The same change twice leaves the same metadata, unless it expects the metadata's revision.
      expectedRevision === undefined || expectedRevision === 'any' ? 'safe' : 'unsafe',
    );
  }

  getStreamMetadata(stream: string): Promise<StreamMetadataState> {
    return this.#connection.request('streamMetadataGet', { stream }, 'safe');
  }

  deleteStream(stream: string, expectedRevision?: ExpectedRevision): Promise<{ readonly position: number }> {
    // Not sent again after a lost connection: a repeated delete with an exact expectation would
    // be refused by its own success. The caller reads the stream and decides.
    return this.#connection.request(
      'streamDelete',
      { stream, ...(expectedRevision === undefined ? {} : { expectedRevision }) },
      'unsafe',
    );
  }

  saveSnapshot(stream: string, revision: number, state: unknown): Promise<{ readonly position: number }> {
    return this.#connection.request(
      'streamSnapshotSave',
      { stream, revision, state: (state === undefined ? null : state) as WireJson },
      'safe',
    );
  }

  async loadSnapshot(stream: string): Promise<StreamSnapshot | null> {
    return (await this.#connection.request('streamSnapshotLoad', { stream }, 'safe')).snapshot;
  }

  async headPosition(): Promise<number> {
    return (await this.#connection.request('streamReadAll', { limit: 0 }, 'safe')).head;
  }

  async subscribe(options: SubscribeOptions): Promise<EventSubscription> {
    const target = options.target;
    const filter =
      'stream' in target
        ? { stream: target.stream }
        : 'category' in target
          ? { category: target.category }
          : {};
    // The first read is awaited, so a refused subscription (access, bad name) rejects here.
    const first = await this.#connection.request(
      'streamReadAll',
      { ...filter, after: options.after ?? -1, limit: SUBSCRIPTION_PAGE },
      'safe',
    );
    const subscription = new PollingSubscription(this.#connection, filter, options, () =>
      this.#subscriptions.delete(subscription),
    );
    this.#subscriptions.add(subscription);
    subscription.start(first.events as RecordedEvent[]);
    return subscription;
  }

  /** Ends every subscription (the client is closing). */
  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
  }
}

class PollingSubscription implements EventSubscription {
  #position: number | undefined;
  #after: number;
  #closed = false;
  #running: Promise<void> | undefined;

  constructor(
    private readonly connection: ClientConnection,
    private readonly filter: { readonly stream?: string; readonly category?: string },
    private readonly options: SubscribeOptions,
    private readonly onEnd: () => void,
  ) {
    this.#after = options.after ?? -1;
  }

  get position(): number | undefined {
    return this.#position;
  }

  start(first: RecordedEvent[]): void {
    this.#running = this.#run(first);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.onEnd();
    await this.#running;
  }

  async #run(first: RecordedEvent[]): Promise<void> {
    let events = first;
    try {
      while (!this.#closed) {
        for (const event of events) {
          await this.options.onEvent(event);
          if (this.#closed) return;
          this.#position = event.position;
          this.#after = event.position;
        }
        events = await this.#poll();
      }
    } catch (error) {
      if (this.#closed) return;
      this.#closed = true;
      this.onEnd();
      this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** The next page after the last delivered position; waits on the server when there is none. */
  async #poll(): Promise<RecordedEvent[]> {
    for (;;) {
      if (this.#closed) return [];
      try {
        const { events } = await this.connection.request(
          'streamReadAll',
          { ...this.filter, after: this.#after, limit: SUBSCRIPTION_PAGE, waitMs: SUBSCRIPTION_WAIT_MS },
          'safe',
        );
        return events as RecordedEvent[];
      } catch (error) {
        // A timed-out poll (a slow server, a reconnect in between) is asked again; a closed
        // client or a refusal ends the subscription.
        if (!isTributaryError(error) || !error.retriable || this.connection.state === 'closed') throw error;
        await new Promise((resolve) => setTimeout(resolve, SUBSCRIPTION_RETRY_MS));
      }
    }
  }
}
