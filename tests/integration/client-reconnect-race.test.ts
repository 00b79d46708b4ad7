import { afterAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir, waitFor } from "./helpers.js";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("a sync asked for just after the relay came back", () => {
  it("is not failed by a connection attempt begun while the relay was down", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    let relay: Relay = await startRelay(data.dir);
    const port = relay.port;
    const token = await relay.mintToken({
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });
    // Session requests can be held: the test decides when an attempt made while the relay was
    // down learns that it failed.
    let hold = false;
    const held: (() => void)[] = [];
    const fetchHeld: typeof fetch = (input, init) => {
      if (!hold || !String(input).includes("/v1/session")) return fetch(input, init);
      hold = false;
      const attempt = fetch(input, init);
      attempt.catch(() => undefined);
      return new Promise((resolve, reject) => {
        held.push(() => attempt.then(resolve, reject));
      });
    };
    const c = await createClient({
      url: relay.url,
      token,
      storage: "memory",
      fetch: fetchHeld,
      schedule: { backoffInitialMs: 50, backoffMaxMs: 100 },
    });
    cleanups.push(() => c.close());
    await c.sync.now();

    // The relay goes away; the device's next attempt is made (refused) and held.
    await relay.close();
    hold = true;
    await waitFor(() => held.length === 1, "an attempt made while the relay is down");
    relay = await startRelay(data.dir, { port });
    cleanups.push(() => relay.close());
    // The rep asks for a sync now that the relay is back, then the old attempt fails.
    const run = c.sync.now().then(
      () => "synced",
      (err: Error) => `failed: ${err.message}`,
    );
    await new Promise((r) => setTimeout(r, 50));
    held[0]?.();
    expect(await run).toBe("synced");
    expect(c.sync.status.state).toBe("complete");
  });
});
