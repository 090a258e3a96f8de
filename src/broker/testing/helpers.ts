/**
 * @module broker/testing/helpers
 * Test helpers for the broker suites: byte helpers, a counting Log wrapper, a recording
 * subscriber and a polling `eventually`.
 */
import { expect } from 'vitest';
import type { Log } from '../../log/types.js';
import type { Delivery, LogRecord } from '../types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bytes = (text: string): Uint8Array => encoder.encode(text);
export const text = (data: Uint8Array | null): string | null => (data === null ? null : decoder.decode(data));

/** `count` keyless records with values `${prefix}0`, `${prefix}1`, … */
export function values(count: number, prefix = 'v'): { key: null; value: Uint8Array }[] {
  return Array.from({ length: count }, (_, i) => ({ key: null, value: bytes(`${prefix}${i}`) }));
}

export interface CallCounts {
  read: number;
  waitForAppend: number;
  append: number;
  /** Signals passed to waitForAppend, most recent last. */
  signals: (AbortSignal | undefined)[];
}

/** A Log that forwards to `log` and counts the calls the broker makes. */
export function countingLog(log: Log): { log: Log; counts: CallCounts } {
  const counts: CallCounts = { read: 0, waitForAppend: 0, append: 0, signals: [] };
  const wrapped = new Proxy(log, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === 'read') counts.read++;
        if (property === 'append') counts.append++;
        if (property === 'waitForAppend') {
          counts.waitForAppend++;
          counts.signals.push(args[3] as AbortSignal | undefined);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { log: wrapped, counts };
}

/** Records what a subscription receives. */
export class Recorder {
  readonly deliveries: Delivery[] = [];
  readonly errors: unknown[] = [];
  readonly onRecords = (delivery: Delivery): void => {
    this.deliveries.push(delivery);
  };
  readonly onError = (error: unknown): void => {
    this.errors.push(error);
  };

  get records(): LogRecord[] {
    return this.deliveries.flatMap((delivery) => [...delivery.records]);
  }

  get offsets(): number[] {
    return this.records.map((record) => record.offset);
  }

  get values(): (string | null)[] {
    return this.records.map((record) => text(record.value));
  }
}

/** Retries `check` until it stops throwing (or `timeoutMs` passes, then rethrows). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(5);
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets every pending callback, microtask and I/O of this turn run. */
export const settle = async (rounds = 5): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Asserts that `promise` rejects with a TributaryError of `code`. */
export async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  const run = typeof promise === 'function' ? Promise.resolve().then(promise) : promise;
  await expect(run).rejects.toMatchObject({ name: 'TributaryError', code });
}
