/**
 * @module react/client-store
 * The client a `TributaryProvider` hands to its hooks, as an external store for React's
 * `useSyncExternalStore`: a snapshot (`ClientState`) that changes when the connection does.
 *
 * Two kinds, chosen by the provider's props:
 *
 * - `GivenClientStore` wraps a client the application made (and closes itself).
 * - `ConnectingStore` makes the client from `ConnectOptions` when the provider mounts in a
 *   browser (`start()` runs in an effect, so rendering on a server opens nothing) and closes it
 *   when it unmounts. A first connection that fails is tried again with the SDK's reconnect
 *   backoff, except for refused credentials (retrying would only be refused again). Hooks get
 *   the client only once its first handshake is done: live queries and consumers made before
 *   that would wait for a session that does not exist yet.
 *
 * Both give `SERVER_STATE` (no client) as the server snapshot, so what hydrates in the browser
 * is exactly what the server rendered.
 */
import { backoffDelayMs, RECONNECT_DEFAULTS } from '../client/backoff.js';
import { type ConnectOptions, TributaryClient } from '../client/client.js';
import { TributaryError } from '../errors.js';

/**
 * `connecting`: before the first handshake (or between failed first attempts); `connected`;
 * `reconnecting`: the connection dropped and the SDK is reconnecting; `closed`: for good (closed,
 * or credentials refused); `idle`: nothing started (server-side rendering, before mount).
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ClientState {
  /** The client, once connected the first time; undefined on the server and while connecting. */
  readonly client: TributaryClient | undefined;
  readonly status: ConnectionStatus;
  /** The last connection error (cleared when connected again). */
  readonly error: TributaryError | undefined;
}

/** What every store renders on the server and hydrates with. */
export const SERVER_STATE: ClientState = { client: undefined, status: 'idle', error: undefined };

/** Codes after which trying again cannot help. */
const FINAL_CODES = new Set(['UNAUTHENTICATED', 'ACCESS_REVOKED', 'TOKEN_EXPIRED', 'INVALID_ARGUMENT']);

export abstract class ClientStore {
  #state: ClientState = SERVER_STATE;
  readonly #listeners = new Set<() => void>();

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getSnapshot = (): ClientState => this.#state;

  readonly getServerSnapshot = (): ClientState => SERVER_STATE;

  /** Starts following (or making) the client; called from an effect, never while rendering. */
  abstract start(): void;

  /** Stops; a later `start()` begins again (React may mount, unmount and mount again). */
  abstract stop(): void;

  protected set(next: Partial<ClientState>): void {
    const state = { ...this.#state, ...next };
    if (
      state.client === this.#state.client &&
      state.status === this.#state.status &&
      state.error === this.#state.error
    )
      return;
    this.#state = state;
    for (const listener of [...this.#listeners]) listener();
  }

  /** Follows the client's connection events into the state; returns what stops following. */
  protected follow(client: TributaryClient): () => void {
    const offs = [
      client.on('disconnect', (error) => this.set({ status: 'reconnecting', error })),
      client.on('reconnect', () => this.set({ status: 'connected', error: undefined })),
      client.on('authFailed', (error) => this.set({ error })),
      client.on('close', () => this.set({ status: 'closed' })),
    ];
    return () => {
      for (const off of offs) off();
    };
  }
}

/** A client the application made, opens and closes. */
export class GivenClientStore extends ClientStore {
  readonly #client: TributaryClient;
  #unfollow: (() => void) | undefined;

  constructor(client: TributaryClient) {
    super();
    this.#client = client;
  }

  start(): void {
    this.stop();
    const client = this.#client;
    const unfollow = this.follow(client);
    if (client.connected) {
      this.#unfollow = unfollow;
      this.set({ client, status: 'connected', error: undefined });
      return;
    }
    // Not opened yet: hooks get it with its first session (what they open needs one).
    const off = client.connection.events.on('open', () => {
      off();
      this.set({ client, status: 'connected', error: undefined });
    });
    this.#unfollow = () => {
      off();
      unfollow();
    };
    this.set({ client: undefined, status: 'connecting' });
  }

  stop(): void {
    this.#unfollow?.();
    this.#unfollow = undefined;
  }
}

/** A client this store makes from `ConnectOptions`, connects (trying again) and closes. */
export class ConnectingStore extends ClientStore {
  readonly #options: ConnectOptions;
  /** Bumped by every start and stop: callbacks of an earlier run do nothing. */
  #run = 0;
  #client: TributaryClient | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unfollow: (() => void) | undefined;

  constructor(options: ConnectOptions) {
    super();
    this.#options = options;
  }

  start(): void {
    this.stop();
    this.#attempt(++this.#run, 0);
  }

  stop(): void {
    this.#run++;
    clearTimeout(this.#timer);
    this.#unfollow?.();
    this.#unfollow = undefined;
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) void client.close().catch(() => undefined);
    this.set({ client: undefined, status: 'idle', error: undefined });
  }

  #attempt(run: number, attempt: number): void {
    let client: TributaryClient;
    try {
      client = new TributaryClient(this.#options);
    } catch (error) {
      this.set({ status: 'closed', error: toError(error) });
      return;
    }
    this.#client = client;
    this.set({ status: 'connecting' });
    client.connection.open().then(
      () => {
        if (run !== this.#run) return;
        this.#unfollow = this.follow(client);
        this.set({ client, status: 'connected', error: undefined });
      },
      (error: unknown) => {
        if (run !== this.#run) return;
        this.#client = undefined;
        void client.close().catch(() => undefined);
        const typed = toError(error);
        if (FINAL_CODES.has(typed.code) || this.#options.reconnect === false) {
          this.set({ status: 'closed', error: typed });
          return;
        }
        this.set({ status: 'connecting', error: typed });
        const delay = backoffDelayMs(attempt, { ...RECONNECT_DEFAULTS, ...(this.#options.reconnect ?? {}) });
        this.#timer = setTimeout(() => this.#attempt(run, attempt + 1), delay);
      },
    );
  }
}

export function toError(error: unknown): TributaryError {
  return error instanceof TributaryError
    ? error
    : new TributaryError('INTERNAL', { reason: String(error) }, { cause: error });
}
