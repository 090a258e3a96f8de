/**
 * @module server/auth/tls
 * The TLS material of the server: reads the PEM files of `tlsCert`, `tlsKey` and `tlsCa`, checks
 * them (each file readable and PEM, the key the certificate's) and turns them into the options of
 * `https.createServer` and `tls.createServer`. Both the HTTP/WebSocket port and the Kafka port use
 * them: with TLS configured, neither speaks plain text.
 *
 * Why check before Node does: `createSecureContext` fails with OpenSSL's words
 * (`error:0480006C:PEM routines::no start line`) and no file name; an operator needs to know
 * which file is wrong. The same check runs on reload (SIGHUP), so a half-written renewal is
 * refused and the certificate being served stays.
 *
 * @example
 * const material = await loadTlsMaterial({ cert: 'server.pem', key: 'server.key', ca: '', clientAuth: 'none' });
 * const server = https.createServer({ ...tlsServerOptions(material), ...httpOptions });
 * server.setSecureContext(secureContextOptions(await loadTlsMaterial(files))); // on reload
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { TlsClientAuth } from '../settings.js';

/** The TLS settings: file paths (empty: not given) and the client-certificate mode. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  /** CA bundle client certificates are verified against; empty: none. */
  readonly ca: string;
  readonly clientAuth: TlsClientAuth;
}

/** The files' contents, checked. */
export interface TlsMaterial {
  readonly files: TlsFiles;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

/** Oldest protocol version accepted: TLS 1.0 and 1.1 are refused. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** A TLS file that cannot be used; the message names the setting and the file. */
export class TlsFileError extends Error {
  constructor(
    readonly setting: 'tlsCert' | 'tlsKey' | 'tlsCa',
    readonly file: string,
    reason: string,
  ) {
    super(`TLS ${setting} file ${file}: ${reason}`);
    this.name = 'TlsFileError';
  }
}

/** The TLS settings of a configuration, or null when TLS is off (`tlsCert` empty). */
export function tlsFilesOf(config: {
  readonly tlsCert: string;
  readonly tlsKey: string;
  readonly tlsCa: string;
  readonly tlsClientAuth: TlsClientAuth;
}): TlsFiles | null {
  if (config.tlsCert === '') return null;
  return { cert: config.tlsCert, key: config.tlsKey, ca: config.tlsCa, clientAuth: config.tlsClientAuth };
}

/** Reads and checks the files; throws {@link TlsFileError} naming the first bad one. */
export async function loadTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const cert = await readPem('tlsCert', files.cert);
  const key = await readPem('tlsKey', files.key);
  const ca = files.ca === '' ? undefined : await readPem('tlsCa', files.ca);
  const leaf = firstCertificate('tlsCert', files.cert, cert);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TlsFileError('tlsKey', files.key, `not a PEM private key (${reasonOf(error)})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsFileError('tlsKey', files.key, `the key does not match the certificate in ${files.cert}`);
  }
  if (ca !== undefined) firstCertificate('tlsCa', files.ca, ca);
  const material: TlsMaterial = { files, cert, key, ca };
  try {
    createSecureContext(secureContextOptions(material));
  } catch (error) {
    throw new TlsFileError('tlsCert', files.cert, `OpenSSL refuses it: ${reasonOf(error)}`);
  }
  return material;
}

/** What `setSecureContext` takes: the certificate, the key and the client CA bundle. */
export function secureContextOptions(material: TlsMaterial): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    ...(material.ca === undefined ? {} : { ca: material.ca }),
    minVersion: TLS_MIN_VERSION,
  };
}

/**
 * Options of `tls.createServer` / `https.createServer`: the secure context, TLS 1.2 at least,
 * and the client-certificate mode (`request` verifies a certificate when one is sent, `require`
 * refuses the handshake without a valid one).
 */
export function tlsServerOptions(material: TlsMaterial, handshakeTimeoutMs: number): TlsOptions {
  const clientAuth = material.files.clientAuth;
  return {
    ...secureContextOptions(material),
    handshakeTimeout: handshakeTimeoutMs,
    requestCert: clientAuth !== 'none',
    rejectUnauthorized: clientAuth === 'require',
  };
}

async function readPem(setting: TlsFileError['setting'], file: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : reasonOf(error);
    throw new TlsFileError(setting, file, `cannot be read: ${reason}`);
  }
  if (!bytes.includes('-----BEGIN ')) {
    throw new TlsFileError(setting, file, 'not PEM (no "-----BEGIN" line; DER files must be converted)');
  }
  return bytes;
}

function firstCertificate(setting: TlsFileError['setting'], file: string, pem: Buffer): X509Certificate {
  const text = pem.toString('latin1');
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text);
  if (match === null) throw new TlsFileError(setting, file, 'holds no PEM certificate');
  try {
    return new X509Certificate(match[0]);
  } catch (error) {
    throw new TlsFileError(setting, file, `not a valid certificate (${reasonOf(error)})`);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
