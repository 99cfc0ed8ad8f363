import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `ferry/client` resolves to the SDK's TypeScript source in the repository's own tests (the
  // `ferry-source` condition of package.json `exports`); an installed package gets dist/. Tests
  // run in Vite's server (ssr) environment, so its conditions are the ones that count.
  ssr: { resolve: { conditions: ['ferry-source', ...defaultServerConditions] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
