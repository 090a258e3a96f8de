/**
 * @module es/sync-groups/service
 * The server's sync groups (`docs/sync-groups.md`): all-reduce groups whose every step's result
 * is computed once, in rank order, and appended to the group's topic `sync-group.<name>`, so
 * every member applies the same bytes and the history can be replayed. This module owns the
 * groups by name, creates their topics, and picks a group up from its topic after a restart
 * (the last generation, step and checkpoint); `group.ts` is one group's state machine.
 *
 * @example
 * const groups = new SyncGroupService(broker, { logger });
 * const joined = await groups.join('trainer', { minMembers: 2 });
 * groups.contribute({ group: 'trainer', memberId: joined.memberId, step: 0, attempt: 0, op: 'sum', … });
 */

import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ensureTopic } from '../../broker/ensure-topic.js';
import type { Broker } from '../../broker/types.js';
import { TributaryError } from '../../errors.js';
import { decodeSyncRecord, syncGroupTopic } from '../../protocol/native/sync-group-records.js';
import type { RequestParams, RequestResult } from '../../protocol/native/types.js';
import {
  SyncGroup,
  type SyncGroupJoined,
  type SyncGroupResume,
  type SyncGroupStats,
  type SyncGroupTimers,
} from './group.js';

export interface SyncGroupServiceOptions {
  readonly logger: Logger;
  /** A step waits this long for its last contributions (unless the group's first join set one). Default 30 000 ms. */
  readonly stepTimeoutMs?: number;
  /** @internal Timers of step deadlines (tests). */
  readonly timers?: SyncGroupTimers;
}

export const SYNC_GROUP_DEFAULTS = { stepTimeoutMs: 30_000, minMembers: 1 } as const;

/** Bytes read per fetch while a restarted server scans a group's topic. */
const SCAN_BYTES = 4 * 1024 * 1024;

const NODE_TIMERS: SyncGroupTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class SyncGroupService {
  readonly #broker: Broker;
  readonly #options: SyncGroupServiceOptions;
  readonly #groups = new Map<string, Promise<SyncGroup>>();
  readonly #stats: SyncGroupStats = { steps: 0, aborts: 0, copiedBytes: 0, heldBytesMax: 0 };
  #nextMember = 0;
  readonly #instance = randomBytes(4).toString('hex');
  #closed = false;

  /** `broker`: where group topics live; front ends check access before they call in. */
  constructor(broker: Broker, options: SyncGroupServiceOptions) {
    this.#broker = broker;
    this.#options = options;
  }

  /** Totals over every group since start: steps, aborts, bytes copied and held (the benchmark reads them). */
  stats(): Readonly<SyncGroupStats> {
    return { ...this.#stats };
  }

  async join(params: RequestParams<'syncGroupJoin'>): Promise<SyncGroupJoined> {
    const group = await this.#group(params.group, params);
    return group.join();
  }

  async contribute(params: RequestParams<'syncGroupContribute'>): Promise<void> {
    (await this.#existing(params.group, params.memberId)).contribute(params);
  }

  async checkpoint(
    params: RequestParams<'syncGroupCheckpoint'>,
  ): Promise<RequestResult<'syncGroupCheckpoint'>> {
    return { offset: await (await this.#existing(params.group, params.memberId)).checkpoint(params) };
  }

  async leave(group: string, memberId: string, reason = 'left'): Promise<void> {
    const existing = this.#groups.get(group);
    if (existing === undefined) return;
    (await existing).leave(memberId, reason);
  }

  /** Ends every pending join with `SHUTTING_DOWN`. */
  async close(): Promise<void> {
    this.#closed = true;
    const groups = await Promise.allSettled(this.#groups.values());
    for (const group of groups) {
      if (group.status === 'fulfilled') group.value.close(new TributaryError('SHUTTING_DOWN'));
    }
  }

  async #existing(name: string, memberId: string): Promise<SyncGroup> {
    const group = this.#groups.get(name);
    if (group === undefined) {
      throw new TributaryError('SYNC_GROUP_NOT_MEMBER', { group: name, memberId, reason: 'no such group' });
    }
    return group;
  }

  #group(name: string, params: RequestParams<'syncGroupJoin'>): Promise<SyncGroup> {
    if (this.#closed) throw new TributaryError('SHUTTING_DOWN');
    let group = this.#groups.get(name);
    if (group === undefined) {
      group = this.#open(name, params);
      this.#groups.set(name, group);
      group.catch(() => this.#groups.delete(name));
    }
    return group;
  }

  async #open(name: string, params: RequestParams<'syncGroupJoin'>): Promise<SyncGroup> {
    const topic = syncGroupTopic(name);
    await ensureTopic(this.#broker, topic, { partitions: 1 });
    const resume = await this.#scan(topic);
    return new SyncGroup({
      name,
      topic,
      broker: this.#broker,
      logger: this.#options.logger,
      timers: this.#options.timers ?? NODE_TIMERS,
      minMembers: params.minMembers ?? SYNC_GROUP_DEFAULTS.minMembers,
      stepTimeoutMs: params.stepTimeoutMs ?? this.#options.stepTimeoutMs ?? SYNC_GROUP_DEFAULTS.stepTimeoutMs,
      resume,
      newMemberId: () => `sg-${this.#instance}-${this.#nextMember++}`,
      stats: this.#stats,
    });
  }

  /**
   * Where a group left off, from its topic: the generation after the last one recorded, the
   * step after the last completed one (an unfinished one is tried again with a new attempt),
   * the latest complete checkpoint. Records that are not the group's are skipped (logged).
   */
  async #scan(topic: string): Promise<SyncGroupResume> {
    const { earliest, next } = await this.#broker.offsets(topic, 0);
    let generation = 0;
    let step = 0;
    let attempt = 0;
    let checkpointOffset: number | null = null;
    let checkpointStart: number | null = null;
    let offset = earliest;
    while (offset < next) {
      const records = await this.#broker.fetch(topic, 0, offset, { maxBytes: SCAN_BYTES });
      if (records.length === 0) break;
      for (const record of records) {
        offset = record.offset + 1;
        let header: ReturnType<typeof decodeSyncRecord>['header'];
        try {
          header = decodeSyncRecord(record.value).header;
        } catch (error) {
          this.#options.logger.warn(
            { err: error, topic, offset: record.offset },
            'skipping a foreign record',
          );
          continue;
        }
        if (header.kind === 'generation') {
          generation = Math.max(generation, header.generation);
          step = header.step;
          attempt = header.attempt;
        } else if (header.kind === 'step') {
          generation = Math.max(generation, header.generation);
          if (header.end !== undefined) {
            generation = Math.max(generation, header.end.generation);
            step = header.step + 1;
            attempt = 0;
          } else {
            step = header.step;
            attempt = header.attempt + 1;
          }
        } else {
          if (header.byteOffset === 0) checkpointStart = record.offset;
          if (header.end && checkpointStart !== null) checkpointOffset = checkpointStart;
        }
      }
    }
    // The members of the last generation are gone with the server that knew them.
    return { generation: next > earliest ? generation + 1 : 0, step, attempt, checkpointOffset };
  }
}
