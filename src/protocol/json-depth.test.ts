import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds } from './json-depth.js';

describe('jsonDepthExceeds', () => {
  it('counts arrays and objects, not scalars', () => {
    expect(jsonDepthExceeds('1', 0)).toBe(false);
    expect(jsonDepthExceeds('"[[[["', 0)).toBe(false);
    expect(jsonDepthExceeds('[]', 0)).toBe(true);
    expect(jsonDepthExceeds('[]', 1)).toBe(false);
    expect(jsonDepthExceeds('{"a":[1,{"b":[]}]}', 3)).toBe(true);
    expect(jsonDepthExceeds('{"a":[1,{"b":[]}]}', 4)).toBe(false);
    // Siblings do not add up: depth is the deepest path.
    expect(jsonDepthExceeds('[[1],[2],[3],[4]]', 2)).toBe(false);
  });

  it('skips brackets inside strings, escaped quotes included', () => {
    expect(jsonDepthExceeds('["[[[[", "\\"[[[", "\\\\", "]]"]', 1)).toBe(false);
    expect(jsonDepthExceeds('["\\\\"]', 1)).toBe(false);
    expect(jsonDepthExceeds('{"k\\"[":[["x"]]}', 3)).toBe(false);
    expect(jsonDepthExceeds('{"k\\"[":[["x"]]}', 2)).toBe(true);
  });

  it('finds depth the parser accepts but a recursive walk would not survive', () => {
    const depth = 100_000;
    const text = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    expect(jsonDepthExceeds(text, depth - 1)).toBe(true);
    expect(jsonDepthExceeds(text, depth)).toBe(false);
    // Agrees with a recursive count on random nested values.
    for (let seed = 1; seed <= 200; seed++) {
      const { value, depth: expected } = randomValue(seed);
      const json = JSON.stringify(value);
      expect(jsonDepthExceeds(json, expected)).toBe(false);
      expect(jsonDepthExceeds(json, expected - 1)).toBe(expected > 0);
    }
  });
});

/** A nested value from a small seeded generator, with its depth. */
function randomValue(seed: number): { value: unknown; depth: number } {
  let state = seed;
  const next = (n: number): number => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % n;
  };
  const build = (level: number): { value: unknown; depth: number } => {
    const kind = level > 8 ? next(3) : next(5);
    if (kind === 0) return { value: next(100), depth: 0 };
    if (kind === 1) return { value: ['"', '[', '{', '\\', ']}'][next(5)]!.repeat(next(4)), depth: 0 };
    if (kind === 2) return { value: null, depth: 0 };
    const children = Array.from({ length: next(4) }, () => build(level + 1));
    const depth = 1 + Math.max(0, ...children.map((c) => c.depth));
    if (kind === 3) return { value: children.map((c) => c.value), depth };
    return { value: Object.fromEntries(children.map((c, i) => [`k${i}[`, c.value])), depth };
  };
  return build(0);
}
