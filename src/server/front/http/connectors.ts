/**
 * @module server/front/http/connectors
 * Connectors over HTTP (docs/connectors.md), on the `ConnectorManager`:
 *
 * | route | does |
 * |---|---|
 * | `POST /v1/connectors` `{ name, type, config }` | create and start (201, its status) |
 * | `GET /v1/connectors` | `{ connectors: [status…] }`: state, position, lag, records per connector |
 * | `GET /v1/connectors/{name}` | one connector's status |
 * | `POST /v1/connectors/{name}/pause`, `POST /v1/connectors/{name}/resume` | pause, resume (its status) |
 * | `DELETE /v1/connectors/{name}` | stop, remove what it created outside, forget it (204) |
 *
 * With security on, reading needs `describe` on the cluster and every change `alter` on the
 * cluster: a connector reads and writes outside systems with the server's own rights.
 */
import type { ConnectorManager } from '../../../connectors/manager.js';
import { TributaryError } from '../../../errors.js';
import { CLUSTER_RESOURCE, type Operation } from '../../auth/types.js';
import { readJsonBody } from './body.js';
import { type Handler, type HttpContext, type HttpRequest, param } from './context.js';
import { sendJson, sendNoContent } from './respond.js';

function manager(ctx: HttpContext, request: HttpRequest, operation: Operation): ConnectorManager {
  request.session?.authorize('cluster', CLUSTER_RESOURCE, operation);
  if (ctx.connectors === undefined) {
    throw new TributaryError('NOT_FOUND', { what: 'connectors (not enabled on this server)' });
  }
  return ctx.connectors;
}

function noQuery(request: HttpRequest): void {
  const [name] = request.query.keys();
  if (name !== undefined) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `unknown query parameter "${name}" (allowed: none)`,
    });
  }
}

export const createConnector: Handler = async (ctx, request) => {
  const connectors = manager(ctx, request, 'alter');
  noQuery(request);
  const { value } = await readJsonBody(request.req, ctx.limits);
  const status = await connectors.create(value);
  sendJson(request.res, 201, status, { location: `/v1/connectors/${encodeURIComponent(status.name)}` });
};

export const listConnectors: Handler = async (ctx, request) => {
  const connectors = manager(ctx, request, 'describe');
  noQuery(request);
  sendJson(request.res, 200, { connectors: connectors.list() });
};

export const describeConnector: Handler = async (ctx, request) => {
  const connectors = manager(ctx, request, 'describe');
  noQuery(request);
  sendJson(request.res, 200, connectors.status(param(request, 'name')));
};

export const pauseConnector: Handler = async (ctx, request) => {
  const connectors = manager(ctx, request, 'alter');
  noQuery(request);
  sendJson(request.res, 200, await connectors.pause(param(request, 'name')));
};

export const resumeConnector: Handler = async (ctx, request) => {
  const connectors = manager(ctx, request, 'alter');
  noQuery(request);
  sendJson(request.res, 200, await connectors.resume(param(request, 'name')));
};

export const deleteConnector: Handler = async (ctx, request) => {
  const connectors = manager(ctx, request, 'alter');
  noQuery(request);
  await connectors.delete(param(request, 'name'));
  sendNoContent(request.res);
};
