/**
 * @module server/auth/scram
 * The server side of a SCRAM conversation (RFC 5802) with SHA-256 (RFC 7677) or SHA-512,
 * independent of the protocol that carries it (Kafka SASL today). SHA-1 is not offered.
 *
 * ```
 * C: n,,n=user,r=<client nonce>                         client-first (gs2 header + bare)
 * S: r=<client nonce><server nonce>,s=<salt>,i=<iterations>
 * C: c=biws,r=<both nonces>,p=<proof>                   client-final
 * S: v=<server signature>                               server-final
 * ```
 *
 * What it refuses (always as `UNAUTHENTICATED`, the reason for the log only):
 * - channel binding (`p=` flag): no `-PLUS` mechanism is offered; `y` is accepted, as the RFC
 *   says for a server without channel binding, and `c=` must then echo `y,,`;
 * - an authorization id other than the user name, the reserved `m=` extension, Kafka's
 *   `tokenauth` extension (delegation tokens do not exist here), malformed names (`=` not
 *   followed by `2C` / `3D`), nonces with non-printable characters, bad base64, anything longer
 *   than {@link SCRAM_MESSAGE_BYTES_MAX};
 * - a client-final whose nonce is not the combined nonce, or whose proof does not match.
 *
 * Unknown users: the conversation goes on with a salt derived from the server secret and the
 * user name (HMAC, so the same for every attempt and unlike any other user's), the usual
 * iteration count, and a stored key no proof can match; the final step costs the same as for a
 * known user (the proof is checked in constant time either way), and fails with the same
 * answer. User names are taken as sent (no SASLprep), as Kafka does.
 *
 * @example
 * const conversation = createScramConversation({
 *   mechanism: 'SCRAM-SHA-256', secret, lookup: (user, m) => users.get(user)?.scram[m],
 *   sessionFor: (name) => makeSession(name),
 * });
 * const first = await conversation.step(clientFirst);   // { response: server-first }
 * const last = await conversation.step(clientFinal);    // { response: server-final, session }
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { TributaryError } from '../../errors.js';
import type { ScramConversation, ScramMechanism, Session } from './types.js';

/** The stored form of a user's SCRAM secret (RFC 5802 §3): never the password. */
export interface ScramCredential {
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly storedKey: Uint8Array;
  readonly serverKey: Uint8Array;
}

export type ScramCredentialLookup = (user: string, mechanism: ScramMechanism) => ScramCredential | undefined;

export interface ScramServerOptions {
  readonly mechanism: ScramMechanism;
  /** The stored credential of a user for this mechanism, or undefined (unknown user). */
  readonly lookup: ScramCredentialLookup;
  /** The session of a user whose proof checked out. */
  readonly sessionFor: (principalName: string) => Session | Promise<Session>;
  /** Server secret the fake salts of unknown users derive from (at least 16 bytes). */
  readonly secret: Uint8Array;
  /** Iteration count told for unknown users: make it the count most users have. Default 4096. */
  readonly fakeIterations?: number;
  /** The server nonce; default 24 random bytes in base64. Tests pin it. */
  readonly serverNonce?: () => string;
}

/** Longest client message accepted (a real one is under 200 bytes). */
export const SCRAM_MESSAGE_BYTES_MAX = 4096;
/** RFC 7677 asks for at least 4096 iterations; fewer is refused when deriving credentials. */
export const SCRAM_ITERATIONS_MIN = 4096;

const HASHES: Readonly<
  Record<ScramMechanism, { readonly name: 'sha256' | 'sha512'; readonly bytes: number }>
> = {
  'SCRAM-SHA-256': { name: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { name: 'sha512', bytes: 64 },
};

export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function refuse(reason: string): TributaryError {
  return new TributaryError('UNAUTHENTICATED', { reason: `SCRAM: ${reason}` });
}

function hmac(hash: string, key: Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac(hash, key).update(data).digest();
}

/**
 * The stored credential for `password` (SaltedPassword = PBKDF2-HMAC(password, salt, i);
 * StoredKey = H(HMAC(SaltedPassword, "Client Key")); ServerKey = HMAC(SaltedPassword, "Server Key")).
 */
export function deriveScramCredential(
  mechanism: ScramMechanism,
  password: string,
  salt: Uint8Array,
  iterations: number,
): ScramCredential {
  if (!Number.isInteger(iterations) || iterations < SCRAM_ITERATIONS_MIN) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `SCRAM iterations must be an integer of at least ${SCRAM_ITERATIONS_MIN}`,
    });
  }
  const { name, bytes } = HASHES[mechanism];
  const salted = pbkdf2Sync(password, salt, iterations, bytes, name);
  const clientKey = hmac(name, salted, 'Client Key');
  return {
    salt: Uint8Array.from(salt),
    iterations,
    storedKey: createHash(name).update(clientKey).digest(),
    serverKey: hmac(name, salted, 'Server Key'),
  };
}

/** A new server conversation; one per authentication attempt. */
export function createScramConversation(options: ScramServerOptions): ScramConversation {
  return new ScramServer(options);
}

type Phase =
  | { readonly kind: 'first' }
  | {
      readonly kind: 'final';
      readonly user: string;
      readonly known: boolean;
      readonly credential: ScramCredential;
      readonly gs2Header: string;
      readonly nonce: string;
      /** client-first-message-bare "," server-first-message */
      readonly messages: string;
    }
  | { readonly kind: 'done' };

class ScramServer implements ScramConversation {
  #phase: Phase = { kind: 'first' };
  readonly #options: ScramServerOptions;

  constructor(options: ScramServerOptions) {
    if (options.secret.length < 16) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'the SCRAM server secret needs 16 bytes or more',
      });
    }
    this.#options = options;
  }

  async step(
    clientMessage: Uint8Array,
  ): Promise<{ readonly response: Uint8Array; readonly session?: Session }> {
    const phase = this.#phase;
    // Whatever happens, a conversation answers each phase at most once.
    this.#phase = { kind: 'done' };
    const text = decodeMessage(clientMessage);
    if (phase.kind === 'first') {
      const { response, next } = this.#first(text);
      this.#phase = next;
      return { response: encoder.encode(response) };
    }
    if (phase.kind === 'final') return this.#final(phase, text);
    throw refuse('the conversation is over');
  }

  #first(text: string): { response: string; next: Phase } {
    const first = parseClientFirst(text);
    const { mechanism, lookup } = this.#options;
    const stored = lookup(first.user, mechanism);
    const credential = stored ?? this.#fakeCredential(first.user);
    const nonce = first.clientNonce + (this.#options.serverNonce?.() ?? randomBytes(24).toString('base64'));
    const serverFirst = `r=${nonce},s=${Buffer.from(credential.salt).toString('base64')},i=${credential.iterations}`;
    return {
      response: serverFirst,
      next: {
        kind: 'final',
        user: first.user,
        known: stored !== undefined,
        credential,
        gs2Header: first.gs2Header,
        nonce,
        messages: `${first.bare},${serverFirst}`,
      },
    };
  }

  async #final(phase: Extract<Phase, { kind: 'final' }>, text: string) {
    const final = parseClientFinal(text);
    if (final.channelBinding !== Buffer.from(phase.gs2Header, 'latin1').toString('base64')) {
      throw refuse('the channel binding does not echo the gs2 header');
    }
    if (final.nonce !== phase.nonce) throw refuse('the nonce is not the combined nonce');
    const { name, bytes } = HASHES[this.#options.mechanism];
    const authMessage = `${phase.messages},${final.withoutProof}`;
    const signature = hmac(name, phase.credential.storedKey, authMessage);
    // A proof of the wrong length is compared against a buffer of the right one: same cost.
    const proof = final.proof.length === bytes ? final.proof : Buffer.alloc(bytes);
    const clientKey = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) clientKey[i] = (proof[i] as number) ^ (signature[i] as number);
    const matches = timingSafeEqual(createHash(name).update(clientKey).digest(), phase.credential.storedKey);
    if (!matches || !phase.known || final.proof.length !== bytes) {
      throw refuse(phase.known ? 'the proof does not match' : `unknown user "${phase.user}"`);
    }
    const serverSignature = hmac(name, phase.credential.serverKey, authMessage);
    const session = await this.#options.sessionFor(phase.user);
    return { response: encoder.encode(`v=${serverSignature.toString('base64')}`), session };
  }

  /** A credential for an unknown user: stable per name, matching no proof. */
  #fakeCredential(user: string): ScramCredential {
    const { mechanism, secret } = this.#options;
    const { name, bytes } = HASHES[mechanism];
    const seed = hmac(name, secret, `${mechanism}\u0000${user}`);
    return {
      salt: seed.subarray(0, 16),
      iterations: this.#options.fakeIterations ?? SCRAM_ITERATIONS_MIN,
      // Random per conversation: no proof computed from any password hashes to it.
      storedKey: randomBytes(bytes),
      serverKey: randomBytes(bytes),
    };
  }
}

function decodeMessage(message: Uint8Array): string {
  if (message.length > SCRAM_MESSAGE_BYTES_MAX) throw refuse('message too long');
  try {
    return utf8.decode(message);
  } catch {
    throw refuse('message is not UTF-8');
  }
}

interface ClientFirst {
  readonly gs2Header: string;
  readonly bare: string;
  readonly user: string;
  readonly clientNonce: string;
}

/**
 * client-first-message = gs2-header client-first-message-bare
 * gs2-header = gs2-cbind-flag "," [ authzid ] ","
 * client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
 */
export function parseClientFirst(text: string): ClientFirst {
  const firstComma = text.indexOf(',');
  const secondComma = firstComma < 0 ? -1 : text.indexOf(',', firstComma + 1);
  if (secondComma < 0) throw refuse('no gs2 header');
  const flag = text.slice(0, firstComma);
  if (flag.startsWith('p=')) throw refuse('channel binding is not offered');
  if (flag !== 'n' && flag !== 'y') throw refuse('bad gs2 channel-binding flag');
  const authzid = text.slice(firstComma + 1, secondComma);
  const bare = text.slice(secondComma + 1);
  const attributes = bare.split(',');
  const [userAttribute, nonceAttribute, ...extensions] = attributes;
  if (userAttribute?.startsWith('m=')) throw refuse('mandatory extensions are not supported');
  if (userAttribute === undefined || !userAttribute.startsWith('n=')) throw refuse('no user name');
  if (nonceAttribute === undefined || !nonceAttribute.startsWith('r=')) throw refuse('no nonce');
  const user = decodeSaslName(userAttribute.slice(2));
  const clientNonce = nonceAttribute.slice(2);
  if (!isPrintable(clientNonce)) throw refuse('bad client nonce');
  if (authzid !== '') {
    if (!authzid.startsWith('a=') || decodeSaslName(authzid.slice(2)) !== user) {
      throw refuse('the authorization id must be the user name');
    }
  }
  for (const extension of extensions) {
    if (!/^[A-Za-z][A-Za-z0-9]*=/.test(extension)) {
      throw refuse('bad extension');
    }
    // Kafka's delegation-token marker: there are no delegation tokens here.
    if (extension.startsWith('tokenauth=')) throw refuse('delegation tokens are not supported');
  }
  return { gs2Header: text.slice(0, secondComma + 1), bare, user, clientNonce };
}

interface ClientFinal {
  readonly channelBinding: string;
  readonly nonce: string;
  readonly proof: Buffer;
  /** client-final-message-without-proof, as sent */
  readonly withoutProof: string;
}

/**
 * client-final-message = channel-binding "," nonce ["," extensions] "," proof
 * with channel-binding = "c=" base64, nonce = "r=" …, proof = "p=" base64.
 */
export function parseClientFinal(text: string): ClientFinal {
  const lastComma = text.lastIndexOf(',');
  if (lastComma < 0) throw refuse('no proof');
  const withoutProof = text.slice(0, lastComma);
  const proofAttribute = text.slice(lastComma + 1);
  if (!proofAttribute.startsWith('p=')) throw refuse('no proof');
  const [binding, nonce] = withoutProof.split(',');
  if (binding === undefined || !binding.startsWith('c=')) throw refuse('no channel binding');
  if (nonce === undefined || !nonce.startsWith('r=')) throw refuse('no nonce');
  const channelBinding = binding.slice(2);
  if (!isBase64(channelBinding)) throw refuse('bad channel binding');
  const proof = proofAttribute.slice(2);
  if (!isBase64(proof)) throw refuse('bad proof');
  return { channelBinding, nonce: nonce.slice(2), proof: Buffer.from(proof, 'base64'), withoutProof };
}

/** saslname: `=2C` is `,` and `=3D` is `=`; any other `=`, a `,` or NUL is refused. */
export function decodeSaslName(name: string): string {
  if (name.length === 0) throw refuse('empty name');
  if (name.includes('\u0000')) throw refuse('NUL in a name');
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c !== '=') {
      out += c;
      continue;
    }
    const escaped = name.slice(i + 1, i + 3);
    if (escaped === '2C') out += ',';
    else if (escaped === '3D') out += '=';
    else throw refuse('bad escape in a name');
    i += 2;
  }
  return out;
}

/** The saslname form of a user name (for clients and tests). */
export function encodeSaslName(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

/** printable = %x21-2B / %x2D-7E (no comma), at least one. */
function isPrintable(value: string): boolean {
  return /^[\x21-\x2b\x2d-\x7e]+$/.test(value);
}

function isBase64(value: string): boolean {
  return value.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(value);
}
