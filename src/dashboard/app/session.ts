/**
 * @module dashboard/app/session
 * What every view uses to reach the server: the HTTP API and one SDK client (connected on
 * first use, with the same credentials), and what to do when the server says 401.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { TributaryClient } from '../../client/index.js';
import type { Api } from './api.js';
import { clientAuth } from './credentials.js';

export interface DashboardSession {
  readonly api: Api;
  /** The SDK client of this page (one WebSocket), connected on first call. */
  client(): Promise<TributaryClient>;
  /** The server refused the credentials (or asks for some): back to the sign-in form. */
  unauthorized(): void;
}

export const SessionContext = createContext<DashboardSession | null>(null);

export function useSession(): DashboardSession {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside SessionContext');
  return session;
}

/** The WebSocket URL of the server that served this page. */
export function webSocketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
}

/** A session over `api`; the SDK client connects lazily and is closed by `close`. */
export function createSession(api: Api, unauthorized: () => void): DashboardSession & { close(): void } {
  let client: Promise<TributaryClient> | undefined;
  return {
    api,
    unauthorized,
    client() {
      // The SDK is loaded with the first view that needs it (the tail, collections): the
      // others paint without it.
      client ??= import('../../client/index.js')
        .then(({ connect }) =>
          connect({
            url: webSocketUrl(),
            clientName: 'tributary-dashboard/1',
            ...(api.credentials === null ? {} : { auth: clientAuth(api.credentials) }),
          }),
        )
        .then((connected) => {
          connected.on('authFailed', () => unauthorized());
          return connected;
        });
      client.catch(() => {
        client = undefined;
      });
      return client;
    },
    close() {
      void client?.then((connected) => connected.close()).catch(() => undefined);
      client = undefined;
    },
  };
}
