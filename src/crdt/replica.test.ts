import { describe, expect, it } from 'vitest';
import { ClockDriftError, encodeHlc } from './hlc.js';
import { EMPTY_DOC, put } from './lww-map.js';
import { Replica } from './replica.js';

function pair(skewMs = 0) {
  let nowMs = 1_700_000_000_000;
  const a = new Replica({ node: 'a', wallClock: () => nowMs });
  const b = new Replica({ node: 'b', wallClock: () => nowMs + skewMs });
  return { a, b, tick: (ms: number) => (nowMs += ms) };
}

describe('Replica', () => {
  it('applies its own writes at once and returns the operations to send', () => {
    const { a, b } = pair();
    const ops = [
      a.put('sku', { name: 'Widget', stock: 10 }),
      a.increment('sku', 'stock', -1),
      a.patch('sku', { price: 3 }),
    ];
    expect(a.get('sku')).toEqual({ name: 'Widget', stock: 9, price: 3 });
    for (const op of ops) b.receive(op);
    expect(b.get('sku')).toEqual(a.get('sku'));
    expect(b.snapshot()).toEqual(a.snapshot());
  });

  it('a write made after seeing another wins over it even with a slower wall clock', () => {
    const { a, b } = pair(-30_000); // b's wall clock is 30 s behind
    const first = a.patch('k', { v: 'a' });
    b.receive(first);
    const second = b.patch('k', { v: 'b' });
    expect(second.ts > first.ts).toBe(true);
    a.receive(second);
    expect(a.get('k')).toEqual({ v: 'b' });
    expect(b.get('k')).toEqual({ v: 'b' });
  });

  it('concurrent writes resolve to the later timestamp on both sides', () => {
    const { a, b, tick } = pair();
    const fromA = a.patch('k', { v: 'a' });
    tick(1);
    const fromB = b.patch('k', { v: 'b' });
    a.receive(fromB);
    b.receive(fromA);
    expect(a.get('k')).toEqual({ v: 'b' });
    expect(b.get('k')).toEqual({ v: 'b' });
  });

  it('increments count once however often they are received', () => {
    const { a, b } = pair();
    const ops = [a.increment('c', 'n'), a.increment('c', 'n', 4), b.increment('c', 'n', -2)];
    for (const op of [...ops, ...ops, ops[0]!]) {
      a.receive(op);
      b.receive(op);
    }
    expect(a.get('c')).toEqual({ n: 3 });
    expect(b.get('c')).toEqual({ n: 3 });
  });

  it('delete and resurrection', () => {
    const { a, b } = pair();
    b.receive(a.put('k', { v: 1 }));
    const del = b.delete('k');
    expect(b.get('k')).toBeUndefined();
    a.receive(del);
    a.receive(a.patch('k', { w: 2 })); // a patch does not bring it back
    expect(a.get('k')).toBeUndefined();
    b.receive(a.put('k', { v: 3 }));
    expect(b.get('k')).toEqual({ v: 3 });
  });

  it('rejects an operation from a clock too far ahead and stays unchanged', () => {
    const { a, b } = pair(120_000); // b is two minutes ahead
    const op = b.patch('k', { v: 1 });
    expect(() => a.receive(op)).toThrow(ClockDriftError);
    expect(a.get('k')).toBeUndefined();
    expect(a.snapshot()).toEqual({});
  });

  it('load merges a snapshot and moves the clock past it', () => {
    const a = new Replica({ node: 'a', wallClock: () => 1000 });
    const latest = encodeHlc({ wallMs: 5000, counter: 3, node: 'z' });
    a.load('k', put(EMPTY_DOC, { stock: 1 }, latest));
    expect(a.clock.last.wallMs).toBe(5000);
    const op = a.increment('k', 'stock');
    expect(op.ts > latest).toBe(true);
    expect(a.get('k')).toEqual({ stock: 2 });
    a.load('other', EMPTY_DOC);
    expect(a.document('other')).toEqual(EMPTY_DOC);
  });

  it('can share one clock between replicas of different collections', () => {
    const { a } = pair();
    const other = new Replica({ clock: a.clock });
    const x = a.patch('k', { v: 1 });
    const y = other.patch('k', { v: 2 });
    expect(other.node).toBe('a');
    expect(y.ts > x.ts).toBe(true);
  });
});
