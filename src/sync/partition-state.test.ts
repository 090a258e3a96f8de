/**
 * The change journal of a partition state: a subscriber resuming from a recent offset gets
 * exactly the changes since, and from an offset older than the journal's bound gets nothing
 * (a fresh snapshot), however many changes went through it. The sequencer's announced writes:
 * delivered by the tail with the same bytes, they get the planned entry; a record of another
 * writer at an announced offset is decoded, and so is everything announced after it.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryDocumentStore } from './document-store.js';
import { PartitionState } from './partition-state.js';
import { encodeStrong } from './record-codec.js';

function strongRecord(offset: number, n = offset) {
  const input = encodeStrong(`k${offset % 3}`, { n }, undefined);
  return { offset, timestamp: 0, key: input.key, value: input.value, headers: [] };
}

const newState = (journalMax?: number) =>
  new PartitionState({
    partition: 0,
    mode: 'strong',
    logger: pino({ level: 'silent' }),
    store: new MemoryDocumentStore(),
    ...(journalMax === undefined ? {} : { journalMax }),
  });

/** What the sequencer announces for offset `offset`: the record's bytes and its planned entry. */
function ownWrite(offset: number) {
  const key = `k${offset % 3}`;
  const value = { n: offset };
  return { key, after: { key, version: offset, value }, record: encodeStrong(key, value, undefined) };
}

describe('PartitionState announced writes', () => {
  it('applies an announced record delivered by the tail with its planned entry, not a decoded copy', () => {
    const state = newState();
    const own = [ownWrite(0), ownWrite(1)];
    state.expectOwn(0, own);
    state.apply([strongRecord(0), strongRecord(1)]);
    expect(state.entry('k0')).toBe(own[0]!.after);
    expect(state.entry('k1')).toBe(own[1]!.after);
  });

  it("decodes another writer's record at an announced offset, and every announced record after it", () => {
    const state = newState();
    const own = [ownWrite(0), ownWrite(1)];
    state.expectOwn(0, own);
    state.apply([strongRecord(0, 99), strongRecord(1)]);
    expect(state.entry('k0')).toEqual({ key: 'k0', version: 0, value: { n: 99 } });
    expect(state.entry('k1')).not.toBe(own[1]!.after);
    expect(state.entry('k1')).toEqual(own[1]!.after);
  });

  it('decodes what arrives after the announcement was forgotten', () => {
    const state = newState();
    const own = [ownWrite(0)];
    state.expectOwn(0, own);
    state.forgetOwn();
    state.apply([strongRecord(0)]);
    expect(state.entry('k0')).not.toBe(own[0]!.after);
    expect(state.entry('k0')).toEqual(own[0]!.after);
  });
});

describe('PartitionState journal', () => {
  it('keeps exactly the last journalMax changes, through many cut-offs', () => {
    const journalMax = 8;
    const state = newState(journalMax);
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
