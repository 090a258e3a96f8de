/**
 * @module es/streams/groups
 * Competing-consumer subscriptions (KurrentDB's persistent subscriptions): a named group follows
 * a stream, a category or every stream, and deals its events out to the members that read from
 * it, each event to one member at a time. A member acks what it handled or nacks it: `retry`
 * deals it again (to any member), `park` sets it aside in the group's parked events. An event
 * not acked within the group's `ackTimeoutMs` (a member that died, hung or lost its connection)
 * is dealt again to the others; every redelivery counts as a retry, and an event past
 * `retriesMax` retries is parked, so one poison event cannot stall a group or kill its members
 * one after another.
 *
 * State in the log, in the store's own streams (durable like any append, rebuilt at start):
 * - `$groups`: one event per created or deleted group (its definition);
 * - `$group-<name>`: the group's checkpoint, every event at or below it acked or parked, written
 *   at most every `checkpointIntervalMs` when it moved, and on close;
 * - `$parked-<name>`: parked events (a copy with the reason and retries).
 *
 * Delivery is at least once: after a restart the group reads again after its checkpoint, so
 * events acked after the last checkpoint write are dealt again. One reader per group (a
 * catch-up subscription) fills a window of at most `windowMax` undone events; it pauses while
 * the window is full, so a group whose members are gone holds a bounded number of events.
 */
import { TributaryError } from '../../errors.js';
import { checkCount, checkPosition, checkStreamName } from './checks.js';
import type {
  ConsumerGroups,
  EventSubscription,
  GroupDelivery,
  GroupInfo,
  RecordedEvent,
  SubscribeOptions,
  SubscriptionTarget,
} from './types.js';

export type { ConsumerGroups, GroupDelivery, GroupInfo, GroupSettings, ParkedEvent } from './types.js';

/** What groups need of the store: its subscriptions and its own streams. */
export interface GroupStorePort {
  subscribe(options: SubscribeOptions): Promise<EventSubscription>;
  appendSystem(stream: string, type: string, data: unknown): Promise<number>;
  readSystem(
    stream: string,
    options: { from?: number; limit: number; direction: 'forward' | 'backward' },
  ): Promise<RecordedEvent[]>;
}

export const GROUP_DEFAULTS = {
  retriesMax: 5,
  ackTimeoutMs: 30_000,
  /** Undone events a group holds (read, not yet acked or parked). */
  windowMax: 1000,
  /** Most events one read deals. */
  readMax: 1000,
  /** Longest wait of one read. */
  waitMsMax: 30_000,
  checkpointIntervalMs: 1000,
  /** Lease checks per group. */
  sweepIntervalMs: 100,
} as const;

const GROUPS_STREAM = '$groups';
const checkpointStream = (name: string): string => `$group-${name}`;
const parkedStream = (name: string): string => `$parked-${name}`;

interface Slot {
  readonly event: RecordedEvent;
  retries: number;
  member: string | undefined;
  leaseUntil: number;
}

interface Definition {
  readonly target: SubscriptionTarget;
  readonly after: number;
  readonly retriesMax: number;
  readonly ackTimeoutMs: number;
}

function invalid(reason: string): TributaryError {
  return new TributaryError('INVALID_ARGUMENT', { reason });
}

function checkTarget(target: unknown): SubscriptionTarget {
  if (typeof target !== 'object' || target === null)
    throw invalid('target must be {stream}, {category} or {all: true}');
  const t = target as Record<string, unknown>;
  if ('stream' in t) return { stream: checkStreamName(t.stream) };
  if ('category' in t) return { category: checkStreamName(t.category, 'category') };
  if (t.all === true) return { all: true };
  throw invalid('target must be {stream}, {category} or {all: true}');
}

function sameTarget(a: SubscriptionTarget, b: SubscriptionTarget): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function checkPositions(positions: unknown): readonly number[] {
  if (!Array.isArray(positions) || positions.some((p) => !Number.isSafeInteger(p) || p < 0)) {
    throw invalid('positions must be an array of event positions');
  }
  return positions as number[];
}

class Group {
  readonly name: string;
  readonly definition: Definition;
  readonly #port: GroupStorePort;
  readonly #slots = new Map<number, Slot>();
  #subscription: EventSubscription | undefined;
  /** Last position the reader took in (every event up to it is in `#slots` or done). */
  #received: number;
  #checkpoint: number;
  #persisted: number;
  #parked = 0;
  #waiters: (() => void)[] = [];
  #roomWaiter: (() => void) | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(name: string, definition: Definition, checkpoint: number, port: GroupStorePort) {
    this.name = name;
    this.definition = definition;
    this.#port = port;
    this.#received = checkpoint;
    this.#checkpoint = checkpoint;
    this.#persisted = checkpoint;
  }

  async start(): Promise<void> {
    this.#subscription = await this.#port.subscribe({
      target: this.definition.target,
      after: this.#checkpoint,
      onEvent: async (event) => {
        while (this.#slots.size >= GROUP_DEFAULTS.windowMax && !this.#closed) {
          await new Promise<void>((resolve) => (this.#roomWaiter = resolve));
        }
        if (this.#closed) return;
        this.#slots.set(event.position, { event, retries: 0, member: undefined, leaseUntil: 0 });
        this.#received = event.position;
        this.#wake();
      },
    });
    this.#sweep = setInterval(() => this.#expire(), GROUP_DEFAULTS.sweepIntervalMs);
    this.#sweep.unref();
  }

  info(): GroupInfo {
    let inFlight = 0;
    for (const slot of this.#slots.values()) if (slot.member !== undefined) inFlight++;
    return {
      name: this.name,
      target: this.definition.target,
      retriesMax: this.definition.retriesMax,
      ackTimeoutMs: this.definition.ackTimeoutMs,
      checkpoint: this.#doneUpTo(),
      pending: this.#slots.size,
      inFlight,
      parked: this.#parked,
    };
  }

  async read(member: string, max: number, waitMs: number): Promise<GroupDelivery[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.#closed) throw new TributaryError('SHUTTING_DOWN');
      this.#expire();
      const dealt: GroupDelivery[] = [];
      const now = Date.now();
      for (const slot of this.#slots.values()) {
        if (dealt.length >= max) break;
        if (slot.member !== undefined) continue;
        slot.member = member;
        slot.leaseUntil = now + this.definition.ackTimeoutMs;
        dealt.push({ event: slot.event, retries: slot.retries });
      }
      const left = deadline - Date.now();
      if (dealt.length > 0 || left <= 0) return dealt;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  ack(positions: readonly number[]): void {
    for (const position of positions) this.#slots.delete(position);
    this.#moved();
  }

  async nack(positions: readonly number[], action: 'retry' | 'park', reason: string): Promise<void> {
    for (const position of positions) {
      const slot = this.#slots.get(position);
      if (slot === undefined) continue;
      if (action === 'park') await this.#park(slot, reason);
      else this.#retry(slot, reason);
    }
    this.#moved();
    this.#wake();
  }

  #retry(slot: Slot, reason: string): void {
    slot.member = undefined;
    slot.retries++;
    if (slot.retries > this.definition.retriesMax)
      void this.#park(slot, `${reason} (after ${slot.retries - 1} retries)`);
  }

  async #park(slot: Slot, reason: string): Promise<void> {
    if (!this.#slots.has(slot.event.position)) return;
    this.#slots.delete(slot.event.position);
    this.#parked++;
    // Parked before it counts as done: the checkpoint cannot pass an event that is in neither place.
    this.#holdCheckpoint++;
    try {
      await this.#port.appendSystem(parkedStream(this.name), '$parked', {
        event: slot.event,
        reason,
        retries: slot.retries,
      });
    } finally {
      this.#holdCheckpoint--;
      this.#moved();
    }
  }

  #holdCheckpoint = 0;

  #expire(): void {
    const now = Date.now();
    let released = false;
    for (const slot of this.#slots.values()) {
      if (slot.member !== undefined && slot.leaseUntil <= now) {
        this.#retry(slot, `not acked within ${this.definition.ackTimeoutMs} ms`);
        released = true;
      }
    }
    if (released) {
      this.#moved();
      this.#wake();
    }
  }

  /** Every event at or below it is acked or parked. */
  #doneUpTo(): number {
    const first = this.#slots.keys().next();
    return first.done === true ? this.#received : (first.value as number) - 1;
  }

  #moved(): void {
    if (this.#holdCheckpoint === 0) this.#checkpoint = Math.max(this.#checkpoint, this.#doneUpTo());
    if (this.#slots.size < GROUP_DEFAULTS.windowMax) {
      const waiter = this.#roomWaiter;
      this.#roomWaiter = undefined;
      waiter?.();
    }
    if (this.#checkpoint > this.#persisted && this.#flushTimer === undefined && !this.#closed) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined;
        void this.#flush();
      }, GROUP_DEFAULTS.checkpointIntervalMs);
      this.#flushTimer.unref();
    }
  }

  #flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const checkpoint = this.#checkpoint;
      if (checkpoint <= this.#persisted) return;
      await this.#port.appendSystem(checkpointStream(this.name), '$checkpoint', { checkpoint });
      this.#persisted = checkpoint;
    });
    return this.#flushing.catch(() => undefined);
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  async close(flush: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    clearTimeout(this.#flushTimer);
    this.#wake();
    this.#roomWaiter?.();
    await this.#subscription?.close();
    if (flush) await this.#flush();
  }
}

/** Opens the groups stored in `$groups`, each reading again after its stored checkpoint. */
export async function openConsumerGroups(
  port: GroupStorePort,
): Promise<ConsumerGroups & { close(): Promise<void> }> {
  const definitions = new Map<string, Definition>();
  for (let from = 0; ; ) {
    const page = await port.readSystem(GROUPS_STREAM, { from, limit: 1000, direction: 'forward' });
    for (const event of page) {
      const d = event.data as { name: string; deleted?: boolean } & Definition;
      if (d.deleted === true) definitions.delete(d.name);
      else
        definitions.set(d.name, {
          target: d.target,
          after: d.after,
          retriesMax: d.retriesMax,
          ackTimeoutMs: d.ackTimeoutMs,
        });
    }
    if (page.length < 1000) break;
    from = (page.at(-1) as RecordedEvent).revision + 1;
  }
  const groups = new Map<string, Group>();
  const start = async (name: string, definition: Definition): Promise<Group> => {
    const [last] = await port.readSystem(checkpointStream(name), { limit: 1, direction: 'backward' });
    const stored = (last?.data as { checkpoint?: number } | undefined)?.checkpoint;
    const group = new Group(name, definition, Math.max(definition.after, stored ?? -1), port);
    await group.start();
    groups.set(name, group);
    return group;
  };
  for (const [name, definition] of definitions) await start(name, definition);

  const named = (name: string): Group => {
    const group = groups.get(checkStreamName(name, 'group'));
    if (group === undefined) throw new TributaryError('NOT_FOUND', { what: `consumer group ${name}` });
    return group;
  };
  const checkMember = (member: unknown): string => checkStreamName(member, 'member');
  // One create or delete at a time: two creates of one name must not both start a reader.
  let changes: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const next = changes.then(work, work);
    changes = next.catch(() => undefined);
    return next;
  };

  return {
    createGroup: (name, settings) =>
      serially(async () => {
        checkStreamName(name, 'group');
        if (typeof settings !== 'object' || settings === null) throw invalid('settings must be an object');
        const definition: Definition = {
          target: checkTarget(settings.target),
          after: checkPosition(settings.after, 'after') ?? -1,
          retriesMax: checkCount(settings.retriesMax, 'retriesMax', GROUP_DEFAULTS.retriesMax, 1000),
          ackTimeoutMs: checkCount(
            settings.ackTimeoutMs,
            'ackTimeoutMs',
            GROUP_DEFAULTS.ackTimeoutMs,
            3_600_000,
          ),
        };
        if (definition.ackTimeoutMs < 100) throw invalid('ackTimeoutMs must be at least 100');
        const existing = groups.get(name);
        if (existing !== undefined) {
          if (!sameTarget(existing.definition.target, definition.target)) {
            throw invalid(`consumer group ${name} exists with another target`);
          }
          return existing.info();
        }
        await port.appendSystem(GROUPS_STREAM, '$group', { name, ...definition });
        return (await start(name, definition)).info();
      }),
    deleteGroup: (name) =>
      serially(async () => {
        const group = named(name);
        await port.appendSystem(GROUPS_STREAM, '$group', { name, deleted: true });
        groups.delete(name);
        await group.close(false);
        // A group created again with this name starts afresh, not at this one's checkpoint.
        await port.appendSystem(checkpointStream(name), '$checkpoint', { checkpoint: -1 });
      }),
    groupInfo: async (name) => named(name).info(),
    readGroup: async (name, member, options = {}) => {
      const group = named(name);
      const max = checkCount(options.max, 'max', 100, GROUP_DEFAULTS.readMax);
      const waitMs = checkCount(options.waitMs, 'waitMs', 0, GROUP_DEFAULTS.waitMsMax);
      return group.read(checkMember(member), Math.max(1, max), waitMs);
    },
    ack: async (name, member, positions) => {
      checkMember(member);
      named(name).ack(checkPositions(positions));
    },
    nack: async (name, member, positions, action, reason) => {
      checkMember(member);
      if (action !== 'retry' && action !== 'park') throw invalid('action must be "retry" or "park"');
      await named(name).nack(
        checkPositions(positions),
        action,
        typeof reason === 'string' ? reason.slice(0, 1000) : 'nacked',
      );
    },
    readParked: async (name, options = {}) => {
      named(name);
      const limit = checkCount(options.limit, 'limit', 100, 1000);
      const after = checkPosition(options.after, 'after') ?? -1;
      const all = await port.readSystem(parkedStream(name), { from: 0, limit: 10_000, direction: 'forward' });
      return all
        .filter((record) => record.position > after)
        .slice(0, limit)
        .map((record) => {
          const d = record.data as { event: RecordedEvent; reason: string; retries: number };
          return { event: d.event, reason: d.reason, retries: d.retries, parkedAt: record.position };
        });
    },
    close: async () => {
      await changes;
      await Promise.all([...groups.values()].map((group) => group.close(true)));
      groups.clear();
    },
  };
}

/** Gives back the events of a read that could not reach its member. */
export function releaseDelivery(
  groups: ConsumerGroups,
  name: string,
  member: string,
  dealt: readonly GroupDelivery[],
): Promise<void> {
  return groups.nack(
    name,
    member,
    dealt.map((d) => d.event.position),
    'retry',
    'the member was gone before it got them',
  );
}
