'use client';

/**
 * @module react/provider
 * `TributaryProvider` puts a client in React context for the hooks below it, and `useClient` /
 * `useConnection` read it.
 *
 * Given `client`, the provider uses it as it is (the application connects and closes it). Given
 * `connect` (the options of `connect()`), it makes the client itself once mounted in a browser,
 * tries again while the first connection fails, and closes the client when it unmounts; the
 * client is made again only when `connect.url` changes (give the provider a `key` to start over
 * with other options). Rendering on a server opens nothing: effects do not run there.
 *
 * @example
 * <TributaryProvider connect={{ url: 'wss://example.com/v1/ws' }}>
 *   <App />
 * </TributaryProvider>
 */
import {
  createContext,
  createElement,
  type ReactElement,
  type ReactNode,
  useContext,
  useEffect,
  useMemo,
  useSyncExternalStore,
} from 'react';
import type { ConnectOptions, TributaryClient } from '../client/client.js';
import { TributaryError } from '../errors.js';
import {
  type ClientState,
  type ClientStore,
  ConnectingStore,
  type ConnectionStatus,
  GivenClientStore,
} from './client-store.js';

export type TributaryProviderProps =
  | { readonly client: TributaryClient; readonly children?: ReactNode }
  | { readonly connect: ConnectOptions; readonly children?: ReactNode };

const ClientContext = createContext<ClientStore | undefined>(undefined);

export function TributaryProvider(props: TributaryProviderProps): ReactElement {
  const client = 'client' in props ? props.client : undefined;
  const options = 'connect' in props ? props.connect : undefined;
  const url = options?.url;
  // biome-ignore lint/correctness/useExhaustiveDependencies: made again for another client or URL only; other options are read once.
  const store = useMemo<ClientStore>(() => {
    if (client !== undefined) return new GivenClientStore(client);
    if (options === undefined) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'TributaryProvider needs a `client` or `connect` options',
      });
    }
    return new ConnectingStore(options);
  }, [client, url]);
  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  // createElement, not JSX: the module then needs no JSX settings from whoever compiles it.
  return createElement(ClientContext.Provider, { value: store }, props.children);
}

/** The provider's client state; throws outside a `TributaryProvider`. */
export function useClientState(): ClientState {
  const store = useContext(ClientContext);
  if (store === undefined) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: 'Tributary hooks need a <TributaryProvider> above them',
    });
  }
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot);
}

/** The connected client, or undefined (on the server, while connecting the first time). */
export function useClient(): TributaryClient | undefined {
  return useClientState().client;
}

/** The connection's status and last error, for a "reconnecting…" banner. */
export function useConnection(): {
  readonly status: ConnectionStatus;
  readonly error: TributaryError | undefined;
} {
  const { status, error } = useClientState();
  return useMemo(() => ({ status, error }), [status, error]);
}
