import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Crash and recovery tests fork writer processes; keep parallelism modest on small machines.
    maxWorkers: 2,
  },
});
