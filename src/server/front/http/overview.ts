/**
 * @module server/front/http/overview
 * Read-only views of the running server, for the dashboard and for operators' scripts:
 *
 * - `GET /v1/stats`: the process, its health, connections and traffic per front end, traffic
 *   per topic (counters since start; rates are the difference of two readings). Needs
 *   `describe` on the cluster, like `/metrics`.
 * - `GET /v1/groups`: every consumer group, native and Kafka, with its members, their
 *   assignments, and per partition the committed offset, the high watermark and the lag. Lists
 *   only the groups, and in them the topics, the session may `describe`.
 *
 * Both go through the guard like every route (`guardOverview`); neither takes a parameter.
 */
import { TributaryError } from '../../../errors.js';
import type { ServerOverview } from '../../overview.js';
import type { Handler, HttpContext, HttpRequest } from './context.js';
import { sendJson } from './respond.js';

function overviewOf(ctx: HttpContext, request: HttpRequest): ServerOverview {
  for (const name of request.query.keys()) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `unknown query parameter "${name}" (allowed: none)`,
    });
  }
  if (ctx.overview === undefined) {
    throw new TributaryError('NOT_FOUND', { what: `${request.req.method} ${request.req.url}` });
  }
  return ctx.overview;
}

export const serverStats: Handler = async (ctx, request) => {
  sendJson(request.res, 200, await overviewOf(ctx, request).stats(), { 'cache-control': 'no-store' });
};

export const listGroups: Handler = async (ctx, request) => {
  const groups = await overviewOf(ctx, request).groups();
  sendJson(request.res, 200, { groups }, { 'cache-control': 'no-store' });
};
