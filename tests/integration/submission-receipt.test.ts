import { join } from "node:path";
import * as A from "@automerge/automerge";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import {
  addLineItem,
  addSubmissionRequest,
  asOrganizationId,
  asUserId,
  createOrder,
  type Order,
} from "../../src/docs/index.js";
import { signRelayTime } from "../../src/relay/auth.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, stockClient, TEST_SECRET, tempDir, waitFor, waitStored } from "./helpers.js";

// The relay judges the staleness gate of a submission by its own signed receipt of the device's
// last complete sync, never by the times the client writes. A modified client speaks the
// protocol here: a stock automerge-repo Repo writing requests by hand.

const DAY = 86_400_000;
const secret = new TextEncoder().encode(TEST_SECRET);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sessionReceipt(relay: Relay, token: string): Promise<string> {
  const res = await fetch(`${relay.httpUrl}/v1/session`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await res.json()) as { relayTime: { receipt: string } };
  return body.relayTime.receipt;
}

describe("the relay's gate check on submissions", () => {
  it("requires a receipt signed for the requester and judges the request's age from it", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const relay = await startRelay(data.dir);
    cleanups.push(() => relay.close());
    const token = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"] });
    const bobToken = await relay.mintToken({ sub: "bob", org: "acme", roles: ["rep"] });
    const now = Date.now();
    const fresh = await sessionReceipt(relay, token);
    const cases = {
      valid: { receipt: fresh, lastSyncAt: now, requestedAt: now },
      // A forged client claims a sync just now and writes no receipt.
      missing: { receipt: undefined, lastSyncAt: now, requestedAt: now },
      wrongSecret: {
        receipt: await signRelayTime(
          new TextEncoder().encode("x".repeat(40)),
          "alice",
          now,
          "acme",
        ),
        lastSyncAt: now,
        requestedAt: now,
      },
      otherUser: {
        receipt: await sessionReceipt(relay, bobToken),
        lastSyncAt: now,
        requestedAt: now,
      },
      accessToken: { receipt: token, lastSyncAt: now, requestedAt: now },
      // A real receipt for a user of the same name in another organization.
      otherOrganization: {
        receipt: await signRelayTime(secret, "alice", now, "globex"),
        lastSyncAt: now,
        requestedAt: now,
      },
      // A real receipt of a sync 20 days ago, with lastSyncAt claiming a sync just now.
      stale: {
        receipt: await signRelayTime(secret, "alice", now - 20 * DAY, "acme"),
        lastSyncAt: now,
        requestedAt: now,
      },
      // Written offline 13 days after a real sync, arriving now: what the device knew was fine.
      offline: {
        receipt: await signRelayTime(secret, "alice", now - 20 * DAY, "acme"),
        lastSyncAt: now - 20 * DAY,
        requestedAt: now - 7 * DAY,
      },
    } as const;

    const { repo } = stockClient(relay, token);
    cleanups.push(() => repo.shutdown());
    const orders = Object.fromEntries(
      Object.keys(cases).map((name) => {
        const handle = repo.create<Order>(
          createOrder({
            owner: asUserId("alice"),
            organization: asOrganizationId("acme"),
            currency: "USD",
            customer: { name: name },
          }),
        );
        handle.change((o) => addLineItem(o, { productCode: "DH", quantity: 1, unitPrice: 100 }));
        return [name, handle];
      }),
    );
    await waitFor(() => repo.peers.length > 0, "the connection");
    for (const handle of Object.values(orders)) await waitStored(repo, handle, relay.peerId);

    const requests: Record<string, string> = {};
    for (const [name, c] of Object.entries(cases)) {
      const handle = orders[name] as (typeof orders)[string];
      handle.change((o) => {
        requests[name] = addSubmissionRequest(o, {
          requestedBy: asUserId("alice"),
          heads: A.getHeads(handle.doc() as A.Doc<Order>),
          lastSyncAt: c.lastSyncAt,
          ...(c.receipt ? { lastSyncReceipt: c.receipt } : {}),
          now: c.requestedAt,
        });
      });
    }

    const db = new Database(join(data.dir, "relay.db"), { readonly: true });
    cleanups.push(() => void db.close());
    const outcomes = () =>
      new Map(
        db
          .prepare<[], { request_id: string; status: string; code: string | null; reason: string }>(
            "SELECT request_id, status, code, reason FROM submission_outcomes",
          )
          .all()
          .map((o) => [o.request_id, o]),
      );
    await waitFor(
      () => Object.values(requests).every((id) => outcomes().has(id)),
      "every request decided",
    );
    const decided = outcomes();
    const code = (name: keyof typeof cases) => {
      const o = decided.get(requests[name] as string);
      return o?.status === "rejected" ? o.code : o?.status;
    };
    expect(code("valid")).toBe("accepted");
    expect(code("offline")).toBe("accepted");
    expect(code("stale")).toBe("GATE_BLOCKED");
    for (const name of [
      "missing",
      "wrongSecret",
      "otherUser",
      "accessToken",
      "otherOrganization",
    ] as const)
      expect(code(name), name).toBe("GATE_RECEIPT_INVALID");
    expect(decided.get(requests.missing as string)?.reason).toMatch(/sync .* and submit again/);
  });
});
