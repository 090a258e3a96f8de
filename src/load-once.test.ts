import { describe, expect, it } from 'vitest';
import { LoadOnce } from './load-once.js';

describe('LoadOnce', () => {
  it('loads once for concurrent and later calls', async () => {
    let loads = 0;
    const once = new LoadOnce(async () => ++loads);
    expect(once.started).toBeUndefined();
    const [a, b] = await Promise.all([once.get(), once.get()]);
    expect([a, b, await once.get(), loads]).toEqual([1, 1, 1, 1]);
    expect(await once.started).toBe(1);
  });

  it('forgets a failed load, reports it, and tries again on the next call', async () => {
    let loads = 0;
    const errors: unknown[] = [];
    const once = new LoadOnce(
      async () => {
        loads++;
        if (loads === 1) throw new Error('missing');
        return 'loaded';
      },
      (error) => errors.push(error),
    );
    await expect(once.get()).rejects.toThrow('missing');
    expect(once.started).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(await once.get()).toBe('loaded');
    expect(loads).toBe(2);
  });
});
