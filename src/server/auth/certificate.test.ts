/**
 * certificatePrincipal over real TLS connections (an https server with the options of
 * `tlsServerOptions`, certificates from `openssl`): the verified client certificate's CN under
 * `request` and `require`; null for no certificate, a certificate from another CA, a plain
 * socket, and TLS without client authentication.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasOpenssl, makeTlsFiles, type TlsTestFiles } from '../../../test/fixtures/tls-certs.js';
import type { TlsClientAuth } from '../settings.js';
import { certificatePrincipal } from './certificate.js';
import { loadTlsMaterial, tlsServerOptions } from './tls.js';

let dir: string;
let files: TlsTestFiles;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-cert-principal-'));
  files = makeTlsFiles(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An https server answering each request with certificatePrincipal(req.socket). */
async function principalServer(clientAuth: TlsClientAuth): Promise<Server> {
  const material = await loadTlsMaterial({
    cert: files.serverCert,
    key: files.serverKey,
    ca: clientAuth === 'none' ? '' : files.ca,
    clientAuth,
  });
  const server = createServer(tlsServerOptions(material, 5_000), (req, res) => {
    res.end(JSON.stringify(certificatePrincipal(req.socket)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function ask(server: Server, cert?: { cert: string; key: string }): Promise<unknown> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        ca: readFileSync(files.ca),
        agent: false,
        ...(cert === undefined ? {} : { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(JSON.parse(body)));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!hasOpenssl())('certificatePrincipal', () => {
  it("is the verified client certificate's CN, and null without one or with another CA's (request)", async () => {
    const server = await principalServer('request');
    try {
      expect(await ask(server, { cert: files.clientCert, key: files.clientKey })).toBe('alice');
      expect(await ask(server)).toBeNull();
      expect(await ask(server, { cert: files.otherClientCert, key: files.otherClientKey })).toBeNull();
    } finally {
      server.close();
    }
  });

  it('is the CN under require, where a connection without a certificate never gets a request in', async () => {
    const server = await principalServer('require');
    try {
      expect(await ask(server, { cert: files.clientCert, key: files.clientKey })).toBe('alice');
      await expect(ask(server)).rejects.toThrow();
    } finally {
      server.close();
    }
  });

  it('is null with client authentication off, even when a client sends a certificate', async () => {
    const server = await principalServer('none');
    try {
      expect(await ask(server, { cert: files.clientCert, key: files.clientKey })).toBeNull();
    } finally {
      server.close();
    }
  });

  it('is null for anything that is not a TLS socket', () => {
    expect(certificatePrincipal(new Socket())).toBeNull();
    expect(certificatePrincipal(undefined)).toBeNull();
    expect(
      certificatePrincipal({ authorized: true, getPeerCertificate: () => ({ subject: { CN: 'x' } }) }),
    ).toBeNull();
  });
});
