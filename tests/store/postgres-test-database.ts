import { randomBytes } from "node:crypto";
import pg from "pg";

/** The server the PostgreSQL tests use: `OMS_TEST_DATABASE_URL`, else the local one. */
export const postgresTestUrl =
  process.env.OMS_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** How to run the PostgreSQL tests, said when they are skipped. */
export const postgresHowTo = `PostgreSQL is not reachable at ${postgresTestUrl.replace(/\/\/[^@/]*@/, "//…@")}: the PostgreSQL store tests were SKIPPED. Start PostgreSQL 15 (trust auth) there, or set OMS_TEST_DATABASE_URL, and run \`npx vitest run tests/store\`. CI (.ci/run) sets OMS_REQUIRE_SERVICES=1, which makes this a failure.`;

async function reachable(): Promise<boolean> {
  const client = new pg.Client({
    connectionString: postgresTestUrl,
    connectionTimeoutMillis: 2_000,
  });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether the PostgreSQL tests run here: true when the server answers. When it does not, says so
 * plainly (and how to run them), or throws when `OMS_REQUIRE_SERVICES=1` (CI).
 */
export async function postgresAvailable(): Promise<boolean> {
  if (await reachable()) return true;
  if (process.env.OMS_REQUIRE_SERVICES === "1") throw new Error(postgresHowTo);
  console.warn(postgresHowTo);
  return false;
}

/** A fresh database with a random name on the test server; `drop` removes it. */
export async function createTestDatabase(
  prefix = "oms_store",
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresTestUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(postgresTestUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: postgresTestUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
