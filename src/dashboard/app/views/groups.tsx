/**
 * @module dashboard/app/views/groups
 * Every consumer group the session may describe, polled each second: native groups (server-side
 * assignment over WebSocket) and Kafka groups side by side, with members, what each is
 * assigned, and per partition the committed offset, the end offset and the lag.
 */
import { count, time } from '../format.js';
import { usePoll } from '../hooks.js';
import { useSession } from '../session.js';
import type { GroupJson } from '../types.js';
import { ErrorNote } from './parts.js';
import { POLL_MS } from './topics.js';

const KIND_LABEL: Readonly<Record<GroupJson['kind'], string>> = {
  native: 'native',
  kafka: 'Kafka',
  inactive: 'no members',
};

function totalLag(group: GroupJson): number {
  let lag = 0;
  for (const row of group.partitions) lag += row.lag ?? 0;
  return lag;
}

function shortId(memberId: string): string {
  return memberId.length > 28 ? `${memberId.slice(0, 27)}…` : memberId;
}

export function GroupsView() {
  const { api } = useSession();
  const polled = usePoll(
    async (signal) => (await api.get<{ groups: GroupJson[] }>('/v1/groups', signal)).groups,
    POLL_MS,
    'groups',
  );
  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Consumer groups</h1>
      <ErrorNote error={polled.error} />
      {polled.data === undefined ? (
        <p class="muted">Loading…</p>
      ) : polled.data.length === 0 ? (
        <p class="muted">
          No consumer groups yet. Groups appear when a consumer joins one or commits offsets.
        </p>
      ) : (
        polled.data.map((group) => <Group key={group.group} group={group} />)
      )}
    </section>
  );
}

function Group({ group }: { group: GroupJson }) {
  const id = `group-${group.group.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return (
    <article class="group" aria-labelledby={id} data-group={group.group}>
      <h2 id={id}>
        {group.group} <span class="badge">{KIND_LABEL[group.kind]}</span>
      </h2>
      <dl class="facts">
        <div>
          <dt>State</dt>
          <dd>{group.state}</dd>
        </div>
        <div>
          <dt>Generation</dt>
          <dd>{group.generation}</dd>
        </div>
        <div>
          <dt>Members</dt>
          <dd>{group.members.length}</dd>
        </div>
        <div>
          <dt>Total lag</dt>
          <dd data-field="total-lag">{count(totalLag(group))}</dd>
        </div>
      </dl>
      {group.members.length === 0 ? null : (
        <table class="grid">
          <caption>Members of {group.group}</caption>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Client</th>
              <th scope="col">Topics</th>
              <th scope="col">Assigned partitions</th>
            </tr>
          </thead>
          <tbody>
            {group.members.map((member) => (
              <tr key={member.memberId}>
                <th scope="row" class="mono" title={member.memberId}>
                  {shortId(member.memberId)}
                </th>
                <td>
                  {member.clientId ?? <span class="muted">native client</span>}
                  {member.clientHost === null ? null : <span class="muted"> {member.clientHost}</span>}
                </td>
                <td>{member.topics.join(', ')}</td>
                <td class="mono">
                  {member.assigned.map((tp) => `${tp.topic}/${tp.partition}`).join(', ') || '–'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {group.partitions.length === 0 ? null : (
        <table class="grid">
          <caption>Offsets and lag of {group.group}</caption>
          <thead>
            <tr>
              <th scope="col">Topic</th>
              <th scope="col" class="num">
                Partition
              </th>
              <th scope="col" class="num">
                Committed
              </th>
              <th scope="col" class="num">
                End offset
              </th>
              <th scope="col" class="num">
                Lag
              </th>
              <th scope="col">Committed at</th>
              <th scope="col">Member</th>
            </tr>
          </thead>
          <tbody>
            {group.partitions.map((row) => (
              <tr key={`${row.topic}/${row.partition}`} data-topic={row.topic} data-partition={row.partition}>
                <th scope="row">{row.topic}</th>
                <td class="num">{row.partition}</td>
                <td class="num">{row.committed === null ? '–' : count(row.committed)}</td>
                <td class="num">{row.end === null ? 'deleted' : count(row.end)}</td>
                <td class="num" data-field="lag">
                  {row.lag === null ? '–' : count(row.lag)}
                </td>
                <td class="mono">{row.committedAt === null ? '–' : time(row.committedAt)}</td>
                <td class="mono" title={row.memberId ?? undefined}>
                  {row.memberId === null ? '–' : shortId(row.memberId)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </article>
  );
}
