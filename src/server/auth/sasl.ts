/**
 * @module server/auth/sasl
 * The client messages of the one-step SASL mechanisms, turned into {@link Credentials}:
 * PLAIN (RFC 4616) and OAUTHBEARER (RFC 7628). Protocol-agnostic: Kafka's SaslAuthenticate
 * carries them today. SCRAM, a conversation, is `scram.ts`.
 *
 * Both refuse, as `UNAUTHENTICATED`, anything malformed; the reason is for the log only.
 *
 * @example
 * const { credentials, authzid } = parsePlainMessage(bytes);       // { kind: 'password', … }
 * const { credentials } = parseOAuthBearerMessage(bytes);          // { kind: 'token', … }
 */
import { TributaryError } from '../../errors.js';
import type { Credentials } from './types.js';

/** Longest PLAIN or OAUTHBEARER message accepted (a JWT with many claims fits in 16 KiB). */
export const SASL_MESSAGE_BYTES_MAX = 16 * 1024;

/**
 * The server's answer to a bad OAUTHBEARER token (RFC 7628 §3.2.2), sent before failing; no
 * `scope` or `openid-configuration` is offered.
 */
export const OAUTHBEARER_ERROR = new TextEncoder().encode('{"status":"invalid_token"}');

const utf8 = new TextDecoder('utf-8', { fatal: true });

function refuse(reason: string): TributaryError {
  return new TributaryError('UNAUTHENTICATED', { reason });
}

function decode(message: Uint8Array, mechanism: string): string {
  if (message.length > SASL_MESSAGE_BYTES_MAX) throw refuse(`${mechanism}: message too long`);
  try {
    return utf8.decode(message);
  } catch {
    throw refuse(`${mechanism}: message is not UTF-8`);
  }
}

export interface ParsedSasl {
  readonly credentials: Credentials;
  /** The authorization identity the client asked for; null when none (act as yourself). */
  readonly authzid: string | null;
}

/**
 * PLAIN: `[authzid] NUL authcid NUL passwd`. An authzid, when given, must be the user name
 * (no acting as somebody else).
 */
export function parsePlainMessage(message: Uint8Array): ParsedSasl {
  const parts = decode(message, 'PLAIN').split('\u0000');
  if (parts.length !== 3) throw refuse('PLAIN: expected authzid NUL authcid NUL passwd');
  const [authzid, username, password] = parts as [string, string, string];
  if (username === '' || password === '') throw refuse('PLAIN: empty user name or password');
  if (authzid !== '' && authzid !== username)
    throw refuse('PLAIN: the authorization id must be the user name');
  return { credentials: { kind: 'password', username, password }, authzid: authzid === '' ? null : authzid };
}

/**
 * OAUTHBEARER client first message (RFC 7628 §3.1):
 * `gs2-header kvsep *(key "=" value kvsep) kvsep` with kvsep = %x01, gs2-header `n,,` or
 * `n,a=<authzid>,` (`y`: accepted, no channel binding here; `p=`: refused), and one
 * `auth=Bearer <token>`. Other keys are SASL extensions, ignored.
 */
export function parseOAuthBearerMessage(message: Uint8Array): ParsedSasl {
  const text = decode(message, 'OAUTHBEARER');
  const firstComma = text.indexOf(',');
  const secondComma = firstComma < 0 ? -1 : text.indexOf(',', firstComma + 1);
  if (secondComma < 0) throw refuse('OAUTHBEARER: no gs2 header');
  const flag = text.slice(0, firstComma);
  if (flag !== 'n' && flag !== 'y') throw refuse('OAUTHBEARER: channel binding is not offered');
  const authzidField = text.slice(firstComma + 1, secondComma);
  let authzid: string | null = null;
  if (authzidField !== '') {
    if (!authzidField.startsWith('a=')) throw refuse('OAUTHBEARER: bad authzid');
    authzid = authzidField.slice(2);
    if (authzid === '') throw refuse('OAUTHBEARER: empty authzid');
  }
  const rest = text.slice(secondComma + 1);
  if (!rest.startsWith('\u0001') || !rest.endsWith('\u0001\u0001') || rest.length < 3) {
    throw refuse('OAUTHBEARER: bad key-value framing');
  }
  let token: string | null = null;
  for (const pair of rest.slice(1, -2).split('\u0001')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw refuse('OAUTHBEARER: bad key-value pair');
    const key = pair.slice(0, eq);
    if (!/^[A-Za-z]+$/.test(key)) throw refuse('OAUTHBEARER: bad key');
    if (key !== 'auth') continue;
    if (token !== null) throw refuse('OAUTHBEARER: auth given twice');
    const match = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(pair.slice(eq + 1));
    if (match === null) throw refuse('OAUTHBEARER: auth is not a Bearer token');
    token = match[1] as string;
  }
  if (token === null) throw refuse('OAUTHBEARER: no auth');
  return { credentials: { kind: 'token', token }, authzid };
}

/** The OAUTHBEARER client message for `token` (clients and tests). */
export function oauthBearerMessage(token: string, authzid?: string): Uint8Array {
  return new TextEncoder().encode(
    `n,${authzid === undefined ? '' : `a=${authzid}`},\u0001auth=Bearer ${token}\u0001\u0001`,
  );
}
