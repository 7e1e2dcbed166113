import { defineConfig } from 'vitest/config';

// Default run: unit, conformance, fuzz (small) and concurrency tests. The long stress and
// soak suites under test/stress run only with VMMSIM_STRESS=1 (npm run test:stress).
const stress = process.env.VMMSIM_STRESS === '1';

export default defineConfig({
  test: {
    include: stress ? ['test/stress/**/*.test.ts'] : ['test/**/*.test.ts'],
    exclude: stress ? [] : ['test/stress/**', 'node_modules/**', 'dist/**'],
    pool: 'forks',
    testTimeout: stress ? 600_000 : 60_000,
    hookTimeout: 60_000,
  },
});
