import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { missingServerNodeFlags, SERVER_NODE_FLAGS } from './node-flags.js';

describe('server Node flags', () => {
  it('are what npm start passes', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const start = pkg.scripts.start!;
    for (const flag of SERVER_NODE_FLAGS) expect(start).toContain(`node ${flag}`);
  });

  it('are reported missing unless given, whatever value a flag was given', () => {
    expect(missingServerNodeFlags([])).toEqual([...SERVER_NODE_FLAGS]);
    expect(missingServerNodeFlags(['--import', 'tsx', ...SERVER_NODE_FLAGS])).toEqual([]);
    expect(missingServerNodeFlags(['--initial-old-space-size=256'])).toEqual([]);
    expect(missingServerNodeFlags(['--initial-old-space-size-x=1'])).toEqual([...SERVER_NODE_FLAGS]);
  });
});
