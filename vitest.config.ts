import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests that start redis-server processes are heavy; two cores, so few workers.
    maxWorkers: 2,
  },
});
