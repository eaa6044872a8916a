import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Spawned CLIs, a real browser and a real keyring are slow to start on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests spawn processes and bind loopback ports: keep the machine calm.
    maxWorkers: 2,
  },
})
