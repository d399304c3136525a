import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests that start redis-server processes are heavy; two cores, so few workers.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/reliability/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The fault, load and soak tests assert bounds the issue sets (re-run within lease
        // + 2 s, settled by deadline + 250 ms): they run after the rest, one file at a time,
        // so no other test file competes with them for the two cores.
        extends: true,
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
