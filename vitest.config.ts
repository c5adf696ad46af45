import { defineConfig } from 'vitest/config';

// Two projects: unit tests are pure and fast; integration tests talk to the real
// Postgres and Redis (TEST_DATABASE_URL / TEST_REDIS_URL), each test in its own
// database and key prefix.
// Tests run the TypeScript sources: every workspace package exports its
// src/ under the "@hubstream/source" condition and its built dist/ by default
// (ARCHITECTURE.md, "Build"). The processes that tests start run the built
// output, as production does.
const conditions = ['@hubstream/source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    // Two test files at a time (Vitest's default is one less than the cores:
    // one here). Integration tests spend most of their time waiting on
    // Postgres, Redis, child processes and Chromium, so a second file uses
    // the wait: a full run took 451 s instead of 721 s on this 2-core machine.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{apps,packages}/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          environment: 'node',
          // Property-based tests are CPU-bound; on a loaded 2-core machine
          // the 5 s default is too tight.
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['{apps,packages}/*/test/**/*.int.test.ts', 'test/**/*.int.test.ts'],
          // Brings dist/ up to date for the processes the tests start.
          globalSetup: ['./test/global-build.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // expect.poll's 1 s default is shorter than what integration tests
          // wait on: the dashboard's record view reads again every 1.5 s, and
          // a loaded 2-core machine delays processes and browsers.
          expect: { poll: { timeout: 10_000 } },
        },
      },
    ],
  },
});
