/**
 * @module server/front/http/stream-groups
 * Competing-consumer groups over HTTP (docs/event-sourcing.md, "Competing consumers"):
 *
 * | route | does |
 * |---|---|
 * | `PUT /v1/stream-groups/{group}` `{ target, after?, retriesMax?, ackTimeoutMs? }` | create (again: a no-op): the group's info |
 * | `GET /v1/stream-groups/{group}` | `{ name, target, checkpoint, pending, inFlight, parked, … }` |
 * | `DELETE /v1/stream-groups/{group}` | delete: `{}` |
 * | `POST /v1/stream-groups/{group}/read` `{ member, max?, waitMs? }` | events dealt to the member: `{ deliveries: [{ event, retries }] }` (a long poll with `waitMs`) |
 * | `POST /v1/stream-groups/{group}/ack` `{ member, positions }` | `{}` |
 * | `POST /v1/stream-groups/{group}/nack` `{ member, positions, action: "retry"\|"park", reason? }` | `{}` |
 * | `GET /v1/stream-groups/{group}/parked?after=&limit=` | `{ parked: [{ event, reason, retries, parkedAt }] }` |
 */
import { TributaryError } from '../../../errors.js';
import type { ConsumerGroups } from '../../../es/streams/groups.js';
import { readJsonBody } from './body.js';
import { expectObject, type Handler, type HttpContext, type HttpRequest, param } from './context.js';
import { sendJson } from './respond.js';
import { onlyQuery, queryInt } from './streams.js';

function groupsOf(ctx: HttpContext): ConsumerGroups {
  if (ctx.streamGroups === undefined) {
    throw new TributaryError('NOT_FOUND', { what: 'event streams (not enabled on this server)' });
  }
  return ctx.streamGroups;
}

async function body(
  ctx: HttpContext,
  request: HttpRequest,
  allowed: readonly string[],
): Promise<Record<string, unknown>> {
  const { value } = await readJsonBody(request.req, ctx.limits);
  const object = expectObject(value, 'The request body');
  for (const name of Object.keys(object)) {
    if (!allowed.includes(name)) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `unknown field "${name}" (allowed: ${allowed.join(', ')})`,
      });
    }
  }
  return object;
}

export const createStreamGroup: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['target', 'after', 'retriesMax', 'ackTimeoutMs']);
  sendJson(request.res, 200, await groupsOf(ctx).createGroup(param(request, 'group'), b as never));
};

export const streamGroupInfo: Handler = async (ctx, request) => {
  onlyQuery(request, []);
  sendJson(request.res, 200, await groupsOf(ctx).groupInfo(param(request, 'group')));
};

export const deleteStreamGroup: Handler = async (ctx, request) => {
  onlyQuery(request, []);
  await groupsOf(ctx).deleteGroup(param(request, 'group'));
  sendJson(request.res, 200, {});
};

export const readStreamGroup: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['member', 'max', 'waitMs']);
  const deliveries = await groupsOf(ctx).readGroup(param(request, 'group'), b.member as string, {
    ...(b.max === undefined ? {} : { max: b.max as number }),
    ...(b.waitMs === undefined ? {} : { waitMs: b.waitMs as number }),
  });
  if (request.res.destroyed && deliveries.length > 0) {
    // The caller left during the wait: give its events back now rather than after the ack timeout.
    await groupsOf(ctx).nack(
      param(request, 'group'),
      b.member as string,
      deliveries.map((d) => d.event.position),
      'retry',
      'the member was gone',
    );
    return;
  }
  sendJson(request.res, 200, { deliveries });
};

export const ackStreamGroup: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['member', 'positions']);
  await groupsOf(ctx).ack(param(request, 'group'), b.member as string, b.positions as number[]);
  sendJson(request.res, 200, {});
};

export const nackStreamGroup: Handler = async (ctx, request) => {
  const b = await body(ctx, request, ['member', 'positions', 'action', 'reason']);
  await groupsOf(ctx).nack(
    param(request, 'group'),
    b.member as string,
    b.positions as number[],
    b.action as 'retry',
    b.reason as string | undefined,
  );
  sendJson(request.res, 200, {});
};

export const readStreamGroupParked: Handler = async (ctx, request) => {
  onlyQuery(request, ['after', 'limit']);
  const after = queryInt(request, 'after');
  const limit = queryInt(request, 'limit');
  const parked = await groupsOf(ctx).readParked(param(request, 'group'), {
    ...(after === undefined ? {} : { after }),
    ...(limit === undefined ? {} : { limit }),
  });
  sendJson(request.res, 200, { parked });
};
