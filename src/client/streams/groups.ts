/**
 * @module client/streams/groups
 * `client.streams.groups`: competing-consumer groups over the native protocol (the server's
 * `ConsumerGroups`, docs/event-sourcing.md), and `consume`, a member loop: long-polled reads of
 * the events dealt to it, `onEvent` for each, an ack when it settles, a nack to retry when it
 * throws. A member that dies stops acking; the server deals its events to the others once the
 * group's ack timeout passes.
 */
import { isTributaryError } from '../../errors.js';
import type {
  ConsumerGroups,
  GroupDelivery,
  GroupInfo,
  GroupSettings,
  ParkedEvent,
  RecordedEvent,
} from '../../es/streams/types.js';
import type { ClientConnection } from '../connection.js';
import { randomId } from './random-id.js';

/** How long one read of a member loop waits for events on the server. */
const CONSUME_WAIT_MS = 10_000;
const RETRY_PAUSE_MS = 500;

export interface StreamGroupConsumeOptions {
  /** The member's id (default a random UUID): events dealt to it are its own until acked. */
  readonly member?: string;
  /** Events one read takes. Default 20. */
  readonly max?: number;
  /** Handles one event; resolve to ack it, throw to have it retried (and parked past retriesMax). */
  readonly onEvent: (event: RecordedEvent, retries: number) => void | Promise<void>;
  /** The loop ended with an error (not on `close()`). */
  readonly onError?: (error: Error) => void;
}

export interface StreamGroupMember {
  readonly member: string;
  /** Events acked so far. */
  readonly acked: number;
  close(): Promise<void>;
}

export class ClientConsumerGroups implements ConsumerGroups {
  readonly #connection: ClientConnection;

  constructor(connection: ClientConnection) {
    this.#connection = connection;
  }

  createGroup(name: string, settings: GroupSettings): Promise<GroupInfo> {
    return this.#connection.request('streamGroupCreate', { group: name, ...settings }, 'safe');
  }

  async deleteGroup(name: string): Promise<void> {
    await this.#connection.request('streamGroupDelete', { group: name }, 'unsafe');
  }

  groupInfo(name: string): Promise<GroupInfo> {
    return this.#connection.request('streamGroupInfo', { group: name }, 'safe');
  }

  async readGroup(
    name: string,
    member: string,
    options: { readonly max?: number; readonly waitMs?: number } = {},
  ): Promise<GroupDelivery[]> {
    // Not sent again after a lost connection: the events it took come back after the ack timeout.
    const { deliveries } = await this.#connection.request(
      'streamGroupRead',
      { group: name, member, ...options },
      'unsafe',
    );
    return deliveries as GroupDelivery[];
  }

  async ack(name: string, member: string, positions: readonly number[]): Promise<void> {
    await this.#connection.request('streamGroupAck', { group: name, member, positions }, 'safe');
  }

  async nack(
    name: string,
    member: string,
    positions: readonly number[],
    action: 'retry' | 'park',
    reason?: string,
  ): Promise<void> {
    await this.#connection.request(
      'streamGroupNack',
      { group: name, member, positions, action, ...(reason === undefined ? {} : { reason }) },
      'unsafe',
    );
  }

  async readParked(
    name: string,
    options: { readonly after?: number; readonly limit?: number } = {},
  ): Promise<ParkedEvent[]> {
    const { parked } = await this.#connection.request(
      'streamGroupParked',
      { group: name, ...options },
      'safe',
    );
    return parked as ParkedEvent[];
  }

  /** Runs a member of `group` until `close()`. */
  consume(group: string, options: StreamGroupConsumeOptions): StreamGroupMember {
    const member = options.member ?? randomId();
    let closed = false;
    let acked = 0;
    const run = async (): Promise<void> => {
      while (!closed) {
        let dealt: GroupDelivery[];
        try {
          dealt = await this.readGroup(group, member, { max: options.max ?? 20, waitMs: CONSUME_WAIT_MS });
        } catch (error) {
          if (closed) return;
          if (!isTributaryError(error) || !error.retriable || this.#connection.state === 'closed')
            throw error;
          await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
          continue;
        }
        for (const { event, retries } of dealt) {
          if (closed) return; // what it holds comes back to the group after the ack timeout
          try {
            await options.onEvent(event, retries);
          } catch (error) {
            await this.nack(
              group,
              member,
              [event.position],
              'retry',
              String((error as Error)?.message ?? error),
            );
            continue;
          }
          await this.ack(group, member, [event.position]);
          acked++;
        }
      }
    };
    const running = run().catch((error: unknown) => {
      if (closed) return;
      closed = true;
      options.onError?.(error instanceof Error ? error : new Error(String(error)));
    });
    return {
      member,
      get acked() {
        return acked;
      },
      close: async () => {
        closed = true;
        await running;
      },
    };
  }
}
