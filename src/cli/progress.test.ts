import { describe, expect, it } from 'vitest';
import { Progress } from './progress.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (text: string) => writes.push(text) > 0 };
}

describe('Progress', () => {
  it('draws a bar in place on a terminal and clears it when done', () => {
    const out = stream(true);
    const progress = new Progress(1000, out);
    progress.setLabel('orders/0');
    progress.advance(500);
    expect(out.writes[0]).toBe(`\r\x1b[2K[${'#'.repeat(15)}${'-'.repeat(15)}] 50% 500 B of 1000 B orders/0`);
    progress.done();
    expect(out.writes.at(-1)).toBe('\r\x1b[2K');
  });

  it('prints one line per tenth of the work elsewhere', () => {
    const out = stream(false);
    const progress = new Progress(100, out);
    for (let i = 0; i < 20; i++) progress.advance(5);
    expect(out.writes).toHaveLength(10);
    expect(out.writes[0]).toBe('progress: 10% (10 B of 100 B)\n');
    expect(out.writes[9]).toBe('progress: 100% (100 B of 100 B)\n');
  });

  it('writes amounts with the formatter it was given (records rather than bytes)', () => {
    const out = stream(false);
    const progress = new Progress(40, out, (n) => `${n} records`);
    progress.advance(40);
    expect(out.writes).toEqual(['progress: 100% (40 records of 40 records)\n']);
  });
});
