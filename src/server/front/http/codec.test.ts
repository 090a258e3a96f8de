import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../../errors.js';
import { produceRecordFromJson, recordToJson } from './codec.js';
import { parseEventId } from './events.js';

const decoder = new TextDecoder();

describe('record codec', () => {
  it('stores a JSON value as its UTF-8 JSON text and reads it back equal', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.option(fc.string(), { nil: undefined }), (value, key) => {
        const input = produceRecordFromJson(key === undefined ? { value } : { key, value }, 0);
        expect(decoder.decode(input.value!)).toBe(JSON.stringify(value));
        const json = recordToJson(
          { offset: 5, timestamp: 1, key: input.key, value: input.value, headers: [] },
          2,
        );
        expect(json.value).toEqual(JSON.parse(JSON.stringify(value)));
        expect(json.key).toBe(key ?? null);
        expect(json).toMatchObject({ partition: 2, offset: 5, timestamp: 1 });
      }),
    );
  });

  it('reads bytes that are not JSON, keys and headers that are not UTF-8 as base64', () => {
    const bad = new Uint8Array([0xff, 0xfe]);
    const json = recordToJson(
      { offset: 0, timestamp: 0, key: bad, value: bad, headers: [{ key: 'h', value: bad }] },
      0,
      't',
    );
    expect(json).toEqual({
      topic: 't',
      partition: 0,
      offset: 0,
      timestamp: 0,
      key: null,
      keyBase64: '//4=',
      valueBase64: '//4=',
      headers: {},
      headersBase64: { h: '//4=' },
    });
  });

  it('rejects malformed records with INVALID_RECORD naming the index', () => {
    for (const bad of [
      null,
      1,
      [],
      {},
      { value: 1, key: 1 },
      { value: 1, extra: true },
      { valueBase64: '%%' },
    ]) {
      try {
        produceRecordFromJson(bad, 3);
        expect.unreachable();
      } catch (error) {
        expect(isTributaryError(error, 'INVALID_RECORD')).toBe(true);
        expect((error as Error).message).toContain('records[3]');
      }
    }
  });
});

describe('parseEventId', () => {
  it('reads bare and vector ids', () => {
    expect([...parseEventId('12', [1], 3)]).toEqual([[1, 12]]);
    expect([...parseEventId('0:12,1:-1,2:7', [0, 1, 2], 3)]).toEqual([
      [0, 12],
      [1, -1],
      [2, 7],
    ]);
    expect([...parseEventId('0:12,1:3', [1], 2)]).toEqual([[1, 3]]);
  });

  it('rejects ids that cannot be resumed', () => {
    for (const [id, partitions, count] of [
      ['12', [0, 1], 2],
      ['5:1', [0], 2],
      ['0:x', [0], 1],
      ['-2', [0], 1],
      ['', [0], 1],
    ] as const) {
      expect(() => parseEventId(id, partitions, count)).toThrow(/Last-Event-ID/);
    }
  });
});
