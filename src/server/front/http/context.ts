/**
 * @module server/front/http/context
 * What every HTTP handler gets: the broker, the limits, metrics and logger, and its request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Broker } from '../../../broker/types.js';
import type { ConnectorManager } from '../../../connectors/manager.js';
import { TributaryError } from '../../../errors.js';
import type { ConsumerGroups } from '../../../es/streams/groups.js';
import type { EventStore } from '../../../es/streams/types.js';
import type { CollectionsAccess } from '../../auth/guard.js';
import type { Quotas } from '../../auth/quotas.js';
import type { Session } from '../../auth/types.js';
import type { ServerMetrics } from '../../metrics.js';
import type { ServerOverview } from '../../overview.js';
import type { ServerConfig, SettingNameOf } from '../../settings.js';
import type { Params } from './router.js';

/**
 * The settings of the HTTP front end (`http*`, `sse*`); defaults, ranges and docs in
 * `server/settings.ts` (`SERVER_SETTINGS`). The server applies the connection timeouts
 * (`httpHeadersTimeoutMs`, `httpRequestTimeoutMs`, `httpKeepAliveTimeoutMs`) to its Node HTTP
 * server; the handlers use the rest.
 */
export type HttpLimits = Pick<ServerConfig, SettingNameOf<'http'>>;

export interface HttpContext {
  readonly broker: Broker;
  /** The broker and collections as the request's session may use them (plain with security off). */
  readonly collections?: CollectionsAccess;
  /** Event streams under `/v1/streams` (`streams.ts`), as the request's session may use them. */
  readonly eventStore?: EventStore;
  /** Competing-consumer groups under `/v1/stream-groups` (`stream-groups.ts`). */
  readonly streamGroups?: ConsumerGroups;
  readonly limits: HttpLimits;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  /** Quotas per principal (`quota.ts`); undefined: none, and nothing is counted. */
  readonly quotas?: Quotas | undefined;
  /** `GET /v1/stats` and `GET /v1/groups` (`overview.ts`); absent: those routes answer `NOT_FOUND`. */
  readonly overview?: ServerOverview /** `/v1/connectors` (`connectors.ts`); absent: those routes answer `NOT_FOUND`. */;
  readonly connectors?: ConnectorManager;
}

export interface HttpRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Params;
  readonly query: URLSearchParams;
  /** Who the request acts as; absent with security off (`local`). */
  readonly session?: Session;
}

export type Handler = (ctx: HttpContext, request: HttpRequest) => Promise<void>;

/** A path parameter the router guarantees to be present. */
export function param(request: HttpRequest, name: string): string {
  const value = request.params[name];
  if (value === undefined) throw new Error(`route has no {${name}} parameter`);
  return value;
}

/** A non-negative integer from a path or query parameter, else `INVALID_ARGUMENT`. */
export function parseNonNegativeInt(text: string, name: string): number {
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `${name} must be a non-negative integer, got "${text}"`,
    });
  }
  return value;
}

/** The JSON body must be an object; returns it. */
export function expectObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: `${what} must be a JSON object` });
  }
  return value as Record<string, unknown>;
}
