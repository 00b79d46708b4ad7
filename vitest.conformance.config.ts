import { defineConfig } from "vitest/config";

// automerge-repo's network adapter suite allows only 50 ms for connections to complete (its own
// TODO says so), so it runs alone, after the other tests, where a busy machine cannot starve it.
export default defineConfig({
  test: { include: ["tests/integration/network-ws-client.test.ts"], testTimeout: 30_000 },
});
