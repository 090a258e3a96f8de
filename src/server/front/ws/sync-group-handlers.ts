/**
 * @module server/front/ws/sync-group-handlers
 * Handlers of the sync-group requests of the native protocol (`docs/sync-groups.md`). A member
 * belongs to the connection that joined it: requests naming another connection's member are
 * refused, and every member of a connection leaves its group when the connection closes (a
 * SIGKILLed worker leaves at once, not after a timeout). Joining, contributing and
 * checkpointing write the group's topic, so they need `write` on it; reading the results is an
 * ordinary subscription to the topic, checked as such.
 */

import { TributaryError } from '../../../errors.js';
import type { SyncGroupService } from '../../../es/sync-groups/index.js';
import { syncGroupTopic } from '../../../protocol/native/sync-group-records.js';
import type { RequestFrame, RequestResult, SyncGroupRequestMap } from '../../../protocol/native/types.js';
import { authorizeCall } from '../../auth/guard.js';
import type { Session } from '../../auth/types.js';

/** The members a connection has joined, released when it closes. */
export class SyncGroupMemberships {
  readonly #members = new Map<string, string>();
  #service: SyncGroupService | undefined;

  add(service: SyncGroupService, group: string, memberId: string): void {
    this.#service = service;
    this.#members.set(memberId, group);
  }

  has(group: string, memberId: string): boolean {
    return this.#members.get(memberId) === group;
  }

  delete(memberId: string): void {
    this.#members.delete(memberId);
  }

  /** Every member leaves its group (the connection closed). */
  releaseAll(): void {
    const service = this.#service;
    if (service === undefined) return;
    for (const [memberId, group] of this.#members) {
      void service.leave(group, memberId, 'its connection closed').catch(() => undefined);
    }
    this.#members.clear();
  }
}

/** What sync-group handlers need from the connection. */
export interface SyncGroupContext {
  /** The server's sync groups; without them, sync-group requests answer `NOT_FOUND`. */
  readonly syncGroups: SyncGroupService | undefined;
  readonly syncGroupMemberships: SyncGroupMemberships;
  /** The connection's session (access checks). */
  readonly session: Session;
  isOpen(): boolean;
}

type SyncGroupType = keyof SyncGroupRequestMap;
type Handler<T extends SyncGroupType> = (
  ctx: SyncGroupContext,
  request: RequestFrame<T>,
) => Promise<RequestResult<T>>;

function service(ctx: SyncGroupContext, group: string): SyncGroupService {
  if (ctx.syncGroups === undefined) {
    throw new TributaryError('NOT_FOUND', { what: 'sync groups (not enabled on this server)' });
  }
  authorizeCall(ctx.session, 'appendBatch', 'topic', syncGroupTopic(group));
  return ctx.syncGroups;
}

function ownMember(ctx: SyncGroupContext, group: string, memberId: string): void {
  if (!ctx.syncGroupMemberships.has(group, memberId)) {
    throw new TributaryError('SYNC_GROUP_NOT_MEMBER', {
      group,
      memberId,
      reason: 'not a member joined on this connection',
    });
  }
}

export const SYNC_GROUP_HANDLERS: { readonly [T in SyncGroupType]: Handler<T> } = {
  syncGroupJoin: async (ctx, r) => {
    const groups = service(ctx, r.group);
    const joined = await groups.join(r);
    if (!ctx.isOpen()) {
      await groups.leave(r.group, joined.memberId, 'its connection closed');
      throw new TributaryError('CONNECTION_LOST', { reason: 'the connection closed during syncGroupJoin' });
    }
    ctx.syncGroupMemberships.add(groups, r.group, joined.memberId);
    return { ...joined };
  },
  syncGroupContribute: async (ctx, r) => {
    const groups = service(ctx, r.group);
    ownMember(ctx, r.group, r.memberId);
    await groups.contribute(r);
    return {};
  },
  syncGroupCheckpoint: async (ctx, r) => {
    const groups = service(ctx, r.group);
    ownMember(ctx, r.group, r.memberId);
    return groups.checkpoint(r);
  },
  syncGroupLeave: async (ctx, r) => {
    const groups = service(ctx, r.group);
    ownMember(ctx, r.group, r.memberId);
    ctx.syncGroupMemberships.delete(r.memberId);
    await groups.leave(r.group, r.memberId);
    return {};
  },
};
