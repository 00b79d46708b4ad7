/**
 * The first `GET /v1/session` of a user whose "My" lists N orders, on a relay that has just
 * started (nothing loaded): the request a device's `createClient` makes before anything else,
 * with a 10 s timeout (docs/performance.md, "The session request at start").
 *
 *   node --import tsx bench/session-start.ts [--n 1000,20000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createRelay } from "../src/relay/index.js";
import { seedOms } from "./fixtures.js";

const SECRET = "test-secret-test-secret-test-secret-0123456789";
const { values } = parseArgs({ options: { n: { type: "string", default: "1000,20000" } } });

for (const n of values.n.split(",").map(Number)) {
  const dir = mkdtempSync(join(tmpdir(), "oms-session-start-"));
  await seedOms(dir, n);
  const relay = await createRelay({ port: 0, dataDir: dir, secret: SECRET, logLevel: "silent" });
  const token = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
  const get = async () => {
    const start = performance.now();
    const res = await fetch(`${relay.httpUrl}/v1/session`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await res.json();
    return Math.round(performance.now() - start);
  };
  const firstMs = await get();
  const secondMs = await get();
  const load = loadavg()[0]?.toFixed(1);
  console.log(JSON.stringify({ n, firstMs, secondMs, load }));
  await relay.close();
  rmSync(dir, { recursive: true, force: true });
}
