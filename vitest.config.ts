import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "tests/**/*.test.tsx"],
    // automerge-repo's network suite runs alone: see vitest.conformance.config.ts.
    exclude: ["tests/browser/**", "tests/integration/network-ws-client.test.ts"],
    // Most tests wait on sockets and child processes: two workers on two cores halve the wall
    // time (vitest's default here is one).
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
