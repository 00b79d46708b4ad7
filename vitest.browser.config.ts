import { defineConfig } from "vitest/config";

// Browser tests: real Chromium (Debian's package) driven by playwright-core. `npm run test:browser`.
export default defineConfig({
  test: {
    include: ["tests/browser/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
