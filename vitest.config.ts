import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // automerge-repo's network suite runs alone: see vitest.conformance.config.ts.
    exclude: ["tests/browser/**", "tests/integration/network-ws-client.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
