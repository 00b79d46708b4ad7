import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir, waitFor } from "./helpers.js";

let relay: Relay;
let data: { dir: string; remove: () => void };
beforeAll(async () => {
  data = tempDir();
  relay = await startRelay(data.dir, { limits: { maxConnectionsPerUser: 2 } });
});
afterAll(async () => {
  await relay.close();
  data.remove();
});

function connect(token: string): Promise<{ ws: WebSocket; status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${relay.url}/?token=${token}`);
    ws.on("open", () => resolve({ ws, status: 101, body: "" }));
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d) => {
        body += String(d);
      });
      res.on("end", () => resolve({ ws, status: res.statusCode ?? 0, body }));
    });
    ws.on("error", () => {});
  });
}

describe("connection limits", () => {
  it("caps one user's connections with 429 and the reason; others are unaffected", async () => {
    const alice = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"] });
    const bob = await relay.mintToken({ sub: "bob", org: "acme", roles: ["rep"] });
    const first = await connect(alice);
    const second = await connect(alice);
    expect([first.status, second.status]).toEqual([101, 101]);
    const third = await connect(alice);
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body).error).toMatchObject({ code: "TOO_MANY_CONNECTIONS" });
    expect(JSON.parse(third.body).error.message).toMatch(
      /already holds 2 connections \(maxConnectionsPerUser\)/,
    );
    expect((await connect(bob)).status).toBe(101);

    first.ws.close();
    await waitFor(async () => {
      const again = await connect(alice);
      again.ws.close();
      return again.status === 101;
    }, "a freed slot");
    const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/oms_relay_refusals_total\{reason="too_many_connections"\} [1-9]/);
  });
});
