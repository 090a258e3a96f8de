import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

describe('SseParser', () => {
  it('parses events, ids, comments and multi-line data', () => {
    const parser = new SseParser();
    const events = parser.push(
      ': comment\n\nid: 0:1,1:2\nevent: record\ndata: {"a":1}\n\ndata: line 1\ndata: line 2\n\nretry: 100\n\n',
    );
    expect(events).toEqual([
      { event: 'record', data: '{"a":1}', id: '0:1,1:2' },
      { event: 'message', data: 'line 1\nline 2', id: '0:1,1:2' },
    ]);
    expect(parser.lastEventId).toBe('0:1,1:2');
  });

  it('gives the same events whatever the chunk split and line endings', () => {
    const text =
      'id: 1\nevent: record\ndata: {"v":"é"}\n\nevent: reset\ndata: x\n\n: hb\n\nid: 2\ndata: y\n\n';
    const expected = new SseParser().push(text);
    expect(expected).toHaveLength(3);
    fc.assert(
      fc.property(
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 10 }),
        (eol, cuts) => {
          const input = text.replaceAll('\n', eol);
          const points = [...new Set(cuts.map((c) => Math.min(c, input.length)))].sort((a, b) => a - b);
          const parser = new SseParser();
          const events = [];
          let at = 0;
          for (const point of [...points, input.length]) {
            events.push(...parser.push(input.slice(at, point)));
            at = point;
          }
          expect(events).toEqual(expected);
        },
      ),
    );
  });
});
