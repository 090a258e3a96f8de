/**
 * @module server/auth/audit
 * Audit events: failed authentications and denied operations are counted in `/metrics`
 * (`tributary_auth_failures_total`, `tributary_access_denied_total`) and logged at `warn`,
 * at most `linesPerSecond` lines a second; the lines held back are counted and reported in the
 * next line that is written, so a client hammering wrong passwords cannot flood the log.
 *
 * @example
 * const audit = createAudit({ logger, metrics });
 * audit.authenticationFailed({ protocol: 'kafka', remoteAddress: '10.0.0.7' }, 'bad-password', 'alice');
 */
import type { Logger } from 'pino';
import type { ServerMetrics } from '../metrics.js';
import type { ConnectionInfo, Operation, ResourceType, Session } from './types.js';

export interface AuditSink {
  /** `reason` is a short fixed word (`unknown-user`, `bad-password`, `bad-token`, …), used as a metric label. */
  authenticationFailed(connection: ConnectionInfo, reason: string, who?: string): void;
  accessDenied(session: Session, resource: ResourceType, name: string, operation: Operation): void;
}

export interface AuditOptions {
  readonly logger: Logger;
  readonly metrics?: ServerMetrics;
  /** Default 10. */
  readonly linesPerSecond?: number;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

export function createAudit(options: AuditOptions): AuditSink {
  const { logger, metrics } = options;
  const limit = options.linesPerSecond ?? 10;
  const now = options.now ?? Date.now;
  let windowStart = 0;
  let written = 0;
  let suppressed = 0;

  /** Whether a line may be written now; counts it as suppressed otherwise. */
  const take = (): { ok: boolean; suppressed: number } => {
    const t = now();
    if (t - windowStart >= 1000) {
      windowStart = t;
      written = 0;
    }
    if (written >= limit) {
      suppressed++;
      return { ok: false, suppressed: 0 };
    }
    written++;
    const held = suppressed;
    suppressed = 0;
    return { ok: true, suppressed: held };
  };

  return {
    authenticationFailed(connection, reason, who) {
      metrics?.authFailures.inc({ protocol: connection.protocol, reason });
      const line = take();
      if (!line.ok) return;
      logger.warn(
        {
          audit: 'authentication-failed',
          protocol: connection.protocol,
          remoteAddress: connection.remoteAddress,
          reason,
          ...(who === undefined ? {} : { who }),
          ...(line.suppressed > 0 ? { suppressedLines: line.suppressed } : {}),
        },
        'authentication failed',
      );
    },
    accessDenied(session, resource, name, operation) {
      const protocol = session.connection.protocol;
      metrics?.accessDenied.inc({ protocol, resource, operation });
      const line = take();
      if (!line.ok) return;
      logger.warn(
        {
          audit: 'access-denied',
          protocol,
          remoteAddress: session.connection.remoteAddress,
          principal: session.principal.name,
          resource,
          name,
          operation,
          ...(line.suppressed > 0 ? { suppressedLines: line.suppressed } : {}),
        },
        'access denied',
      );
    },
  };
}
