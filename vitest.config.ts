import { defineConfig } from 'vitest/config';
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
    // Each nested call-out/call-back level is a few JS frames: depth-1000 tests need a deeper host stack.
    poolOptions: { forks: { execArgv: ['--stack-size=2000'] } },
  },
});
