import { createConnection } from "node:net";

/**
 * The shared services the multi-node tests need: PostgreSQL and NATS. Where they are not
 * reachable the tests are skipped with a message saying how to run them; with
 * `OMS_REQUIRE_SERVICES=1` (as `.ci/run` sets) a missing service fails the run instead.
 */
export const services = {
  postgresUrl: process.env.OMS_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  natsUrl: process.env.OMS_TEST_NATS ?? "nats://127.0.0.1:4222",
};

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: u.hostname, port: Number(u.port) || defaultPort });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** The port of a service URL. */
export function portOf(url: string, defaultPort: number): number {
  return Number(new URL(url).port) || defaultPort;
}

/**
 * True when both services answer. Says on stderr, once per file, when they do not and how to
 * run the tests; throws when `OMS_REQUIRE_SERVICES=1`.
 */
export async function servicesAvailable(what: string): Promise<boolean> {
  const [pg, nats] = await Promise.all([
    reachable(services.postgresUrl, 5432),
    reachable(services.natsUrl, 4222),
  ]);
  if (pg && nats) return true;
  const missing = [
    !pg && `PostgreSQL (${services.postgresUrl})`,
    !nats && `NATS (${services.natsUrl})`,
  ]
    .filter(Boolean)
    .join(" and ");
  const message = `${what}: ${missing} not reachable.`;
  if (process.env.OMS_REQUIRE_SERVICES === "1")
    throw new Error(`${message} OMS_REQUIRE_SERVICES=1 requires them.`);
  process.stderr.write(
    `\nSKIPPED ${message} Start PostgreSQL and NATS (or set OMS_TEST_DATABASE_URL and OMS_TEST_NATS) and run \`npx vitest run ${what}\`; CI sets OMS_REQUIRE_SERVICES=1 and fails without them.\n`,
  );
  return false;
}
