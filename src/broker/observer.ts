/**
 * @module broker/observer
 * Calls the server's metric hooks (`BrokerObserver`) safely: a missing hook costs nothing and a
 * hook that throws is logged once per hook and otherwise ignored, so metrics can never break a
 * produce or a delivery.
 */
import type { Logger } from 'pino';
import type { BrokerObserver } from './types.js';

interface Sized {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

/** Bytes of keys and values: the payload size the metrics count. */
export function payloadBytes(records: readonly Sized[]): number {
  let bytes = 0;
  for (const record of records) bytes += (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  return bytes;
}

export class SafeObserver {
  private readonly warned = new Set<string>();

  constructor(
    private readonly observer: BrokerObserver | undefined,
    private readonly logger: Logger,
  ) {}

  get wantsDeliveries(): boolean {
    return this.observer?.recordsDelivered !== undefined;
  }

  recordsProduced(topic: string, count: number, bytes: number): void {
    const observer = this.observer;
    if (observer?.recordsProduced === undefined) return;
    try {
      observer.recordsProduced(topic, count, bytes);
    } catch (error) {
      this.warn('recordsProduced', error);
    }
  }

  appendLatencyMs(ms: number): void {
    const observer = this.observer;
    if (observer?.appendLatencyMs === undefined) return;
    try {
      observer.appendLatencyMs(ms);
    } catch (error) {
      this.warn('appendLatencyMs', error);
    }
  }

  recordsDelivered(count: number, bytes: number, topic: string): void {
    const observer = this.observer;
    if (observer?.recordsDelivered === undefined) return;
    try {
      observer.recordsDelivered(count, bytes, topic);
    } catch (error) {
      this.warn('recordsDelivered', error);
    }
  }

  recordsFetched(topic: string, count: number): void {
    const observer = this.observer;
    if (observer?.recordsFetched === undefined) return;
    try {
      observer.recordsFetched(topic, count);
    } catch (error) {
      this.warn('recordsFetched', error);
    }
  }

  private warn(hook: string, error: unknown): void {
    if (this.warned.has(hook)) return;
    this.warned.add(hook);
    this.logger.warn(
      { err: error, hook },
      'a broker observer hook threw; further errors of it are not logged',
    );
  }
}
