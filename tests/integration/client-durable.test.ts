import { afterEach, describe, expect, it } from "vitest";
import { createClient, type OmsClient } from "../../src/client/index.js";
import type { Relay } from "../../src/relay/index.js";
import { relayDoc, startRelay, tempDir } from "./helpers.js";

// A change is on the device once `change` returns and `flush()` resolves, without `close()`: a
// page or process that goes away then (a reload, a crash) keeps it, and syncs it later.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("client.flush()", () => {
  it("stores a change and its pending-sync mark, so another start of the device has and syncs it", async () => {
    const relayData = tempDir();
    const device = tempDir();
    cleanups.push(relayData.remove, device.remove);
    let relay: Relay = await startRelay(relayData.dir);
    cleanups.push(() => relay.close());
    const port = relay.port;
    const token = await relay.mintToken({
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });
    const open = async (): Promise<OmsClient> => {
      const c = await createClient({
        url: relay.url,
        token,
        storage: { folder: device.dir },
        schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
      });
      cleanups.push(() => c.close());
      return c;
    };
    const first = await open();
    const quote = await first.quotes.create({ currency: "USD", projectName: "Lake house" });
    await first.sync.now();
    await relay.close();

    quote.change((q) => {
      q.projectName = "Lake house, second floor";
    });
    await first.flush();
    // `first` is never closed before the second start reads the device.
    const second = await open();
    expect((await second.quotes.open(quote.id)).doc().projectName).toBe("Lake house, second floor");

    relay = await startRelay(relayData.dir, { port });
    cleanups.push(() => relay.close());
    await second.sync.now();
    expect(relayDoc<{ projectName: string }>(relay, quote.id).projectName).toBe(
      "Lake house, second floor",
    );
  });
});
