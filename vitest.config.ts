import { defineConfig } from 'vitest/config'

// Unit specs sit beside the code (`*.test.ts`); integration specs, which start real Kafka, NATS and
// ClickHouse, live under `__tests__/integration` folders and run one file at a time because they
// share the machine's two cores and one broker. Both keep the logs of passing tests out of the
// output and print a failing test's (test/support/logger-setup.ts).
const setupFiles = ['./test/support/logger-setup.ts']

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/__tests__/integration/**', '.data/**'],
          setupFiles,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/__tests__/integration/**/*.test.ts'],
          exclude: ['**/node_modules/**', '.data/**'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
          globalSetup: ['./test/global-setup.ts'],
          setupFiles,
        },
      },
    ],
  },
})
