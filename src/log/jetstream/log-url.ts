/**
 * @module log/jetstream/log-url
 * Reads the `--log` setting's NATS form, `nats://[user:password@]host:port[,host:port…]`
 * (`tls://` to require TLS), into what the NATS client takes.
 *
 * @example
 * parseNatsLogUrl('nats://app:secret@10.0.0.1:4222,10.0.0.2:4222');
 * // { servers: ['10.0.0.1:4222', '10.0.0.2:4222'], user: 'app', pass: 'secret', tls: false }
 */
import { TributaryError } from '../../errors.js';

export interface NatsLogUrl {
  /** `host:port` of each server (port 4222 when left out). */
  readonly servers: readonly string[];
  readonly user?: string;
  readonly pass?: string;
  /** A `tls://` URL: the connection must use TLS. */
  readonly tls: boolean;
}

/** Whether a `--log` value names NATS servers (rather than the file log). */
export function isNatsLogUrl(value: string): boolean {
  return /^(nats|tls):\/\//.test(value.trim());
}

export function parseNatsLogUrl(value: string): NatsLogUrl {
  const servers: string[] = [];
  let user: string | undefined;
  let pass: string | undefined;
  let tls = false;
  for (const [i, item] of value.split(',').entries()) {
    const text = item.trim();
    const match = /^(?:(nats|tls):\/\/)?(?:([^@/\s:]*)(?::([^@/\s]*))?@)?([^:/\s@]+)(?::(\d{1,5}))?$/.exec(
      text,
    );
    if (match === null || (i === 0 && match[1] === undefined) || Number(match[5] ?? 0) > 65535) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `"${text}" is not a NATS server URL: nats://host:port[,host:port…]`,
      });
    }
    const [, scheme, name, password, host, port] = match;
    if (scheme === 'tls') tls = true;
    if (name !== undefined && name !== '') user = decodeURIComponent(name);
    if (password !== undefined) pass = decodeURIComponent(password);
    servers.push(`${host}:${port ?? 4222}`);
  }
  return {
    servers,
    ...(user === undefined ? {} : { user }),
    ...(pass === undefined ? {} : { pass }),
    tls,
  };
}
