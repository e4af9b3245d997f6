import { defineConfig } from 'vitest/config';

/** Long runs, excluded from `make test`: `make soak-vitest` (SOAK_MINUTES, default 10). */
export default defineConfig({
  test: {
    include: ['test/**/*.soak.test.ts'],
    testTimeout: 24 * 3600_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
    // Heap samples are taken after a forced GC, so growth means retained memory, not garbage.
    execArgv: ['--expose-gc'],
  },
});
