/**
 * @module server/front/mqtt/will-scheduler
 * When a last will is published (MQTT 5 §3.1.2.5, 3.1.1 §3.1.2.5). A connection that ends
 * without a normal DISCONNECT hands its will here with a `publish` function (the session's own
 * publish path); it goes out after the will delay or when the session ends, whichever is first.
 * A new connection with the same client id before then takes the session back and cancels the
 * will, unless it starts clean: that ends the old session, so the will goes out at once.
 *
 * Pending wills are bounded (`delayedMax`): past it a new will is published at once rather than
 * held, the one deviation from its delay that keeps memory bounded. The clock is injected so
 * tests drive delays without waiting.
 *
 * @example
 * const wills = new WillScheduler({ logger, delayedMax: 100_000 });
 * wills.connectionLost('sensor-1', { delayMs: 5000, sessionExpiryMs: 60_000 }, () => publishWill());
 * wills.connected('sensor-1', false); // reconnected in time: nothing is published
 */
import type { Logger } from 'pino';

/** Timers as the scheduler uses them; tests pass a manual clock. */
export interface WillTimers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface WillSchedulerOptions {
  readonly logger: Logger;
  /** Most wills waiting for their delay (setting `mqttWillsDelayedMax`); past it wills go out at once. */
  readonly delayedMax: number;
  readonly timers?: WillTimers;
}

export interface WillTiming {
  /** MQTT 5 Will Delay Interval in ms; 0 (and always for 3.1.1): none. */
  readonly delayMs: number;
  /** How long the session outlives the connection, in ms; 0: it ends with it; Infinity: never. */
  readonly sessionExpiryMs: number;
}

/** Longest delay one Node timer takes (2^31 - 1 ms); longer waits are chained. */
const TIMER_MS_MAX = 2_147_483_647;

const NODE_TIMERS: WillTimers = {
  set: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface PendingWill {
  readonly publish: () => Promise<void>;
  timer: unknown;
}

export class WillScheduler {
  readonly #options: WillSchedulerOptions;
  readonly #timers: WillTimers;
  readonly #pending = new Map<string, PendingWill>();
  readonly #publishing = new Set<Promise<void>>();

  constructor(options: WillSchedulerOptions) {
    this.#options = options;
    this.#timers = options.timers ?? NODE_TIMERS;
  }

  /** Wills waiting for their delay or their session's end. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * The connection of `clientId` ended without a normal DISCONNECT: its will goes out now or
   * once its wait is over (`delayed`).
   */
  connectionLost(clientId: string, timing: WillTiming, publish: () => Promise<void>): 'now' | 'delayed' {
    this.#drop(clientId); // a will still pending belongs to a connection this one replaced
    const waitMs = Math.min(timing.delayMs, timing.sessionExpiryMs);
    if (!(waitMs > 0) || this.#pending.size >= this.#options.delayedMax) {
      this.#publish(clientId, publish);
      return 'now';
    }
    const pending: PendingWill = { publish, timer: null };
    this.#pending.set(clientId, pending);
    this.#arm(clientId, pending, waitMs);
    return 'delayed';
  }

  /**
   * A connection with `clientId` was accepted. Taking the session back cancels its pending will;
   * a clean start ends the old session, which publishes it now.
   */
  connected(clientId: string, cleanStart: boolean): 'none' | 'cancelled' | 'published' {
    const pending = this.#pending.get(clientId);
    if (pending === undefined) return 'none';
    this.#drop(clientId);
    if (!cleanStart) return 'cancelled';
    this.#publish(clientId, pending.publish);
    return 'published';
  }

  /** The session of `clientId` ended (expired or discarded): a pending will goes out now. */
  sessionEnded(clientId: string): void {
    const pending = this.#pending.get(clientId);
    if (pending === undefined) return;
    this.#drop(clientId);
    this.#publish(clientId, pending.publish);
  }

  /** Waits for wills being published; pending delayed wills are dropped (they do not outlive the process). */
  async close(): Promise<void> {
    for (const clientId of [...this.#pending.keys()]) this.#drop(clientId);
    await Promise.allSettled([...this.#publishing]);
  }

  #arm(clientId: string, pending: PendingWill, waitMs: number): void {
    const step = Math.min(waitMs, TIMER_MS_MAX);
    pending.timer = this.#timers.set(() => {
      if (this.#pending.get(clientId) !== pending) return;
      if (waitMs > step) {
        this.#arm(clientId, pending, waitMs - step);
        return;
      }
      this.#pending.delete(clientId);
      this.#publish(clientId, pending.publish);
    }, step);
  }

  #drop(clientId: string): void {
    const pending = this.#pending.get(clientId);
    if (pending === undefined) return;
    this.#timers.clear(pending.timer);
    this.#pending.delete(clientId);
  }

  #publish(clientId: string, publish: () => Promise<void>): void {
    const done = new Promise<void>((resolve) => resolve(publish()))
      .catch((error: unknown) => {
        // Refused (access taken away since CONNECT, quota) or the server is stopping.
        this.#options.logger.warn({ err: error, clientId }, 'MQTT will not published');
      })
      .finally(() => this.#publishing.delete(done));
    this.#publishing.add(done);
  }
}
