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
 * - a client-final whose nonce is not the combined nonce (or librdkafka's form of it, the
 *   client nonce then the combined nonce, which Kafka accepts), or whose proof does not match.
 *
 * Unknown users: the Security hands out a fake credential (passwords.ts `fakeScramCredential`:
 * a salt derived from a server secret and the user name, the usual iteration count, keys no
 * proof matches), so the conversation looks and costs the same as for a known user and fails
 * with the same answer. The proof is checked in constant time. User names are taken as sent
 * (no SASLprep), as Kafka does.
 *
 * @example
 * const security = await createSecurity({ authFile, logger }); // runs this conversation
 * const conversation = security.scram('SCRAM-SHA-256', connection);
 * const first = await conversation.step(clientFirst);   // { response: server-first }
 * const last = await conversation.step(clientFinal);    // { response: server-final, session }
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ScramCredential } from './passwords.js';
import type { ScramConversationInit } from './security.js';
import type { ScramConversation, ScramMechanism, Session } from './types.js';

export interface ScramServerOptions {
  /** The server nonce; default 24 random bytes in base64. Tests pin it. */
  readonly serverNonce?: () => string;
}

/** Longest client message accepted (a real one is under 200 bytes). */
export const SCRAM_MESSAGE_BYTES_MAX = 4096;

const HASHES: Readonly<
  Record<ScramMechanism, { readonly name: 'sha256' | 'sha512'; readonly bytes: number }>
> = {
  'SCRAM-SHA-256': { name: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { name: 'sha512', bytes: 64 },
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** A malformed message: the Security counts and logs it, the client hears UNAUTHENTICATED. */
class Refused extends Error {}

function refuse(reason: string): Refused {
  return new Refused(`SCRAM: ${reason}`);
}

function hmac(hash: string, key: Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac(hash, key).update(data).digest();
}

/**
 * A new server conversation, one per authentication attempt: the Security's
 * `scramConversation` factory (its default).
 */
export function createScramConversation(
  init: ScramConversationInit,
  options: ScramServerOptions = {},
): ScramConversation {
  return new ScramServer(init, options);
}

type Phase =
  | { readonly kind: 'first' }
  | {
      readonly kind: 'final';
      readonly user: string;
      readonly credential: ScramCredential;
      readonly gs2Header: string;
      readonly clientNonce: string;
      readonly nonce: string;
      /** client-first-message-bare "," server-first-message */
      readonly messages: string;
    }
  | { readonly kind: 'done' };

class ScramServer implements ScramConversation {
  #phase: Phase = { kind: 'first' };
  readonly #init: ScramConversationInit;
  readonly #options: ScramServerOptions;

  constructor(init: ScramConversationInit, options: ScramServerOptions) {
    this.#init = init;
    this.#options = options;
  }

  async step(
    clientMessage: Uint8Array,
  ): Promise<{ readonly response: Uint8Array; readonly session?: Session }> {
    const phase = this.#phase;
    // Whatever happens, a conversation answers each phase at most once.
    this.#phase = { kind: 'done' };
    try {
      const text = decodeMessage(clientMessage);
      if (phase.kind === 'first') {
        const { response, next } = this.#first(text);
        this.#phase = next;
        return { response: encoder.encode(response) };
      }
      if (phase.kind === 'final') return this.#final(phase, text);
      throw refuse('the conversation is over');
    } catch (error) {
      if (error instanceof Refused) {
        throw this.#init.failed(error.message, phase.kind === 'final' ? phase.user : undefined);
      }
      throw error;
    }
  }

  #first(text: string): { response: string; next: Phase } {
    const first = parseClientFirst(text);
    const credential = this.#init.credential(first.user);
    const nonce = first.clientNonce + (this.#options.serverNonce?.() ?? randomBytes(24).toString('base64'));
    const serverFirst = `r=${nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    return {
      response: serverFirst,
      next: {
        kind: 'final',
        user: first.user,
        credential,
        gs2Header: first.gs2Header,
        clientNonce: first.clientNonce,
        nonce,
        messages: `${first.bare},${serverFirst}`,
      },
    };
  }

  #final(phase: Extract<Phase, { kind: 'final' }>, text: string) {
    const final = parseClientFinal(text);
    if (final.channelBinding !== Buffer.from(phase.gs2Header, 'latin1').toString('base64')) {
      throw refuse('the channel binding does not echo the gs2 header');
    }
    // librdkafka (2.0.2 at least) sends its client nonce twice: <client nonce><combined nonce>.
    // Kafka accepts it (its check is endsWith), so that exact form is accepted too; the server
    // nonce, the part that makes a proof fresh, is in both.
    if (final.nonce !== phase.nonce && final.nonce !== phase.clientNonce + phase.nonce) {
      throw refuse('the nonce is not the combined nonce');
    }
    const { name, bytes } = HASHES[this.#init.mechanism];
    const authMessage = `${phase.messages},${final.withoutProof}`;
    const signature = hmac(name, phase.credential.storedKey, authMessage);
    // A proof of the wrong length is compared as one of the right length: the same cost.
    const proof = final.proof.length === bytes ? final.proof : Buffer.alloc(bytes);
    const clientKey = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) clientKey[i] = (proof[i] as number) ^ (signature[i] as number);
    const matches = timingSafeEqual(createHash(name).update(clientKey).digest(), phase.credential.storedKey);
    if (!matches || final.proof.length !== bytes) throw refuse('the proof does not match');
    const serverSignature = hmac(name, phase.credential.serverKey, authMessage);
    const session = this.#init.authenticated(phase.user);
    return { response: encoder.encode(`v=${serverSignature.toString('base64')}`), session };
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
