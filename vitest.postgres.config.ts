import { defineConfig } from "vitest/config";
import { postgresAvailable } from "./tests/store/postgres-test-database.js";

/**
 * A representative set of the relay's integration tests, run a second time with the relay on
 * PostgreSQL (each data folder gets a fresh database): sync, submissions, admin, bulk, digest
 * and the catalogue.
 * Without a reachable PostgreSQL this says so and runs nothing (CI sets OMS_REQUIRE_SERVICES=1,
 * which makes that a failure).
 */
export default defineConfig(async () => {
  const available = await postgresAvailable();
  return {
    test: {
      include: available
        ? [
            "tests/integration/relay-sync.test.ts",
            "tests/integration/submission.test.ts",
            "tests/integration/relay-admin.test.ts",
            "tests/integration/relay-bulk.test.ts",
            "tests/integration/client-digest.test.ts",
            "tests/integration/catalogue.test.ts",
            "tests/integration/relay-session-heads.test.ts",
          ]
        : [],
      passWithNoTests: true,
      env: { OMS_TEST_POSTGRES: "1" },
      maxWorkers: 2,
      // A round trip per store operation: slower than SQLite on a loaded machine.
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  };
});
