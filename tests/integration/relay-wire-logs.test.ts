import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir, waitFor } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

// One client must not be able to write the relay's log full (docs/security.md, "Wire").

let relay: Relay;
let data: { dir: string; remove: () => void };
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  data = tempDir();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  relay = await startRelay(data.dir, {
    logger: pino({ level: "info" }, sink),
    limits: { refusalLogFirst: 5 },
  });
});
afterAll(async () => {
  await relay.close();
  data.remove();
});

describe("refused messages in the log", () => {
  it("logs the first few per connection, then a summary with the count left out", async () => {
    const token = await relay.mintToken({ sub: "mallory", org: "acme", roles: ["rep"] });
    const peer = await RawPeer.connect(relay.url, token);
    const count = 2_000;
    // Never joined: every one is refused.
    for (let i = 0; i < count; i++) peer.send({ type: "leave", senderId: `not-joined-${i}` });
    await waitFor(async () => {
      const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
      return new RegExp(`reason="not_joined"[^\\n]* ${count}\\b`).test(metrics);
    }, "every refusal to be counted");
    peer.close();
    await peer.closed;
    const summary = await waitFor(
      () => lines.find((l) => typeof l.suppressed === "number"),
      "the summary line at close",
    );
    const refused = lines.filter((l) => l.msg === "message refused");
    expect(refused.length).toBe(5);
    expect(summary.suppressed).toBe(count - 5);
    expect(summary.reasons).toEqual({ not_joined: count - 5 });
  });
});
