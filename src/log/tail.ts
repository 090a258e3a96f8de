/**
 * @module log/tail
 * Follows one partition live: yields every record from `fromOffset` on, in offset order, in
 * non-empty batches, forever. Between batches it parks on `waitForAppend` (no polling). Ends
 * cleanly (returns) when `options.signal` aborts; other failures (`TOPIC_NOT_FOUND` when the topic
 * is deleted, `LOG_CLOSED`, `OFFSET_OUT_OF_RANGE` when retention overtakes the reader) are thrown.
 *
 * @example
 * const stop = new AbortController();
 * for await (const records of tail(log, 'orders', 0, 0, { signal: stop.signal })) {
 *   for (const record of records) handle(record);
 * }
 */
import type { Log, LogRecord, ReadOptions } from './types.js';

export interface TailOptions {
  /** Aborting ends the iteration (it returns; nothing is thrown). */
  readonly signal?: AbortSignal;
  /** Largest batch yielded; passed to `Log.read`. */
  readonly maxRecords?: number;
}

export async function* tail(
  log: Log,
  topic: string,
  partition: number,
  fromOffset: number,
  options: TailOptions = {},
): AsyncGenerator<LogRecord[]> {
  const { signal } = options;
  const readOptions: ReadOptions = options.maxRecords === undefined ? {} : { maxRecords: options.maxRecords };
  let offset = fromOffset;
  while (!signal?.aborted) {
    let records = await log.read(topic, partition, offset, readOptions);
    if (records.length === 0) {
      // `next` is taken before reading again: if that read is still empty, every offset below
      // `next` is gone (compacted or never to exist), so skip past them rather than spin.
      const { next } = await log.offsets(topic, partition);
      if (next > offset) {
        records = await log.read(topic, partition, offset, readOptions);
        if (records.length === 0) offset = next;
      } else if (!(await waitOrAbort(log, topic, partition, offset, signal))) {
        return;
      }
    }
    const last = records.at(-1);
    if (last === undefined || signal?.aborted) continue;
    offset = last.offset + 1;
    yield records;
  }
}

/** Waits for `next > offset`; false when the signal aborted. */
async function waitOrAbort(
  log: Log,
  topic: string,
  partition: number,
  offset: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  try {
    await log.waitForAppend(topic, partition, offset, signal);
    return true;
  } catch (error) {
    if (signal?.aborted) return false;
    throw error;
  }
}
