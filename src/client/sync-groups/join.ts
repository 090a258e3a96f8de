/**
 * @module client/sync-groups/join
 * `client.joinSyncGroup`: the join request, then the member reads the group's history before
 * it is handed to the application.
 */
import { type SyncGroupHost, SyncGroupMember, type SyncGroupOptions } from './sync-group.js';

export type { SyncGroupMember, SyncGroupOptions } from './sync-group.js';

export async function syncGroupJoin(
  host: SyncGroupHost,
  group: string,
  options: SyncGroupOptions,
): Promise<SyncGroupMember> {
  const joined = await host.connection.request(
    'syncGroupJoin',
    {
      group,
      ...(options.minMembers === undefined ? {} : { minMembers: options.minMembers }),
      ...(options.stepTimeoutMs === undefined ? {} : { stepTimeoutMs: options.stepTimeoutMs }),
    },
    'session',
  );
  const member = new SyncGroupMember(host, group, joined);
  try {
    await member.start(joined.replayFrom);
  } catch (error) {
    await member.close();
    throw error;
  }
  return member;
}
