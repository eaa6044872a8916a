import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fails a listen on the wizard app's fixed ports by a test that does not hold their lock.
    setupFiles: ['test/support/wizard-ports-guard.ts'],
    // Spawned CLIs, a real browser and a real keyring are slow to start on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests spawn processes and bind loopback ports: keep the machine calm.
    maxWorkers: 2,
  },
})
