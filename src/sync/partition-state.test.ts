/**
 * The change journal of a partition state: a subscriber resuming from a recent offset gets
 * exactly the changes since, and from an offset older than the journal's bound gets nothing
 * (a fresh snapshot), however many changes went through it.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryDocumentStore } from './document-store.js';
import { PartitionState } from './partition-state.js';
import { encodeStrong } from './record-codec.js';

function strongRecord(offset: number) {
  const input = encodeStrong(`k${offset % 3}`, { n: offset }, undefined);
  return { offset, timestamp: 0, key: input.key, value: input.value, headers: [] };
}

describe('PartitionState journal', () => {
  it('keeps exactly the last journalMax changes, through many cut-offs', () => {
    const journalMax = 8;
    const state = new PartitionState({
      partition: 0,
      mode: 'strong',
      logger: pino({ level: 'silent' }),
      store: new MemoryDocumentStore(),
      journalMax,
    });
    for (let offset = 0; offset < 100; offset++) {
      state.apply([strongRecord(offset)]);
      const next = offset + 1;
      const oldest = Math.max(0, next - journalMax);
      for (let from = oldest; from <= next; from++) {
        const changes = state.changesSince(from);
        expect(changes?.map((c) => c.offset)).toEqual(
          Array.from({ length: next - from }, (_, i) => from + i),
        );
      }
      if (oldest > 0) expect(state.changesSince(oldest - 1)).toBeUndefined();
      expect(state.changesSince(next + 1)).toBeUndefined();
    }
  });
});
