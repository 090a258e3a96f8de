/**
 * @module server/front/http/quota
 * Quotas on the HTTP API (`auth/quotas.ts`, docs/security.md "Quotas"). An HTTP answer is
 * delayed rather than refused: a produce over its principal's rate is appended once the
 * principal is back under it and answered after the debt it adds is repaid, and a fetch reads
 * once the principal is under its fetch rate, at most one burst. A 429 would lose nothing
 * either, but only for clients that retry; a delayed answer needs nothing from the client (curl
 * included) and a produce is never acknowledged twice. SSE streams count as connections and
 * their deliveries are paced (`events.ts`).
 */
import { LOCAL } from '../../auth/acl.js';
import type { QuotaAccount } from '../../auth/quotas.js';
import type { HttpContext, HttpRequest } from './context.js';

/** The request's principal: its session's, or `local` with security off. */
export function principalOf(request: HttpRequest): string {
  return request.session?.principal.name ?? LOCAL;
}

export function quotaOf(ctx: HttpContext, request: HttpRequest): QuotaAccount | undefined {
  return ctx.quotas?.account(principalOf(request));
}

/** Resolves after `ms` (at once for 0). */
export function pause(ms: number): Promise<void> {
  if (!(ms > 0)) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
