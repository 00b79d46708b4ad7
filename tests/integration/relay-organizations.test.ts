import { join } from "node:path";
import * as A from "@automerge/automerge";
import type { DocHandle, Repo } from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/index.js";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  type Inbox,
  myIds,
  type Quote,
  type Workspace,
} from "../../src/docs/index.js";
import { openDatabase, type Relay, type SessionResponse } from "../../src/relay/index.js";
import { relayDoc, startRelay, stockClient, tempDir, waitFor, waitStored } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

// The same user id in two organizations is two users: identity providers issue the same subject
// in two tenants. Nothing an admin, a user or the relay does for one may reach the other.
let relay: Relay;
let data: { dir: string; remove: () => void };
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  data = tempDir();
  relay = await startRelay(data.dir);
});
afterAll(async () => {
  for (const c of closers) await c();
  await relay.close();
  data.remove();
});

const token = (sub: string, org: string, roles = ["rep"]) =>
  relay.mintToken({ sub, org, roles, offline: true });

async function session(sub: string, org: string): Promise<Response> {
  return fetch(`${relay.httpUrl}/v1/session`, {
    headers: { authorization: `Bearer ${await token(sub, org)}` },
  });
}

async function sessionOf(sub: string, org: string): Promise<SessionResponse> {
  const res = await session(sub, org);
  expect(res.status).toBe(200);
  return (await res.json()) as SessionResponse;
}

async function admin(
  method: "GET" | "POST",
  path: string,
  bearer: string,
  body: unknown = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${relay.httpUrl}/v1/admin/${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    ...(method === "POST" ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** An error answer with the ids in its message blanked: what must not differ between two ids. */
function shape(answer: { status: number; body: Record<string, unknown> }, ...ids: string[]) {
  const error = answer.body.error as { code: string; message: string } | undefined;
  let message = error?.message ?? "";
  for (const id of ids) message = message.replaceAll(id, "ID");
  return { status: answer.status, keys: Object.keys(answer.body), code: error?.code, message };
}

async function client(sub: string, org: string): Promise<Repo> {
  const c = stockClient(relay, await token(sub, org));
  closers.push(c.close);
  await waitFor(() => c.repo.peers.length > 0, `${sub}@${org} to connect`);
  return c.repo;
}

async function quoteOf(repo: Repo, owner: string, org: string): Promise<DocHandle<Quote>> {
  const handle = repo.create<Quote>(
    createQuote({
      owner: asUserId(owner),
      organization: asOrganizationId(org),
      currency: "USD",
      projectName: `${owner}'s project`,
    }),
  );
  handle.change((q) => {
    addLineItem(q, { productCode: "DH-3046", quantity: 1, unitPrice: 100 });
  });
  await waitStored(repo, handle, relay.peerId);
  return handle;
}

describe("revocations across organizations", () => {
  it("an acme admin cannot lock out carol of globex, and learns nothing about globex's users", async () => {
    const acmeAdmin = await token("ada", "acme", ["admin"]);
    const globexAdmin = await token("gus", "globex", ["admin"]);
    // dora of globex has signed in; carol of globex only holds a token so far.
    await sessionOf("dora", "globex");

    const carol = await admin("POST", "users/carol/revoke", acmeAdmin, { reason: "x" });
    const dora = await admin("POST", "users/dora/revoke", acmeAdmin, { reason: "x" });
    const nobody = await admin("POST", "users/nobody-at-all/revoke", acmeAdmin, { reason: "x" });
    // Each concerns that id in acme only: the same answer whatever exists in globex.
    expect(shape(carol)).toEqual(shape(nobody));
    expect(shape(dora)).toEqual(shape(nobody));
    expect(carol.body).toMatchObject({ userId: "carol", organization: "acme" });

    expect((await session("carol", "globex")).status).toBe(200);
    expect((await session("dora", "globex")).status).toBe(200);
    const peer = await RawPeer.connect(relay.url, await token("carol", "globex"));
    closers.push(async () => peer.close());
    await peer.join();
    const globexList = await admin("GET", "users/revoked", globexAdmin);
    expect(globexList.body.revoked).toEqual([]);

    // globex's own admin revokes carol: carol of globex is out, carol of acme is not.
    const revoked = await admin("POST", "users/carol/revoke", globexAdmin, { reason: "left" });
    expect(revoked.status).toBe(200);
    expect((await session("carol", "globex")).status).toBe(403);
    await expect(RawPeer.connect(relay.url, await token("carol", "globex"))).rejects.toThrow(/403/);
    await relay.admin.reinstate({ organization: "acme", userId: "carol" });
    expect((await session("carol", "acme")).status).toBe(200);
    const list = (await admin("GET", "users/revoked", globexAdmin)).body.revoked as {
      userId: string;
      organization: string;
    }[];
    expect(list.map((r) => [r.organization, r.userId])).toEqual([["globex", "carol"]]);

    // acme's admin cannot lift it, and cannot tell it from a user that does not exist.
    const lift = await admin("POST", "users/carol/reinstate", acmeAdmin);
    const liftNobody = await admin("POST", "users/nobody-2/reinstate", acmeAdmin);
    expect(lift.status).toBe(404);
    expect(shape(lift, "carol")).toEqual(shape(liftNobody, "nobody-2"));
    expect((await session("carol", "globex")).status).toBe(403);

    const reinstated = await admin("POST", "users/carol/reinstate", globexAdmin);
    expect(reinstated.status).toBe(200);
    expect((await session("carol", "globex")).status).toBe(200);
  });

  it("the operator names the organization", async () => {
    await sessionOf("olaf", "acme");
    await sessionOf("olaf", "globex");
    const revocation = await relay.admin.revoke(
      { organization: "globex", userId: "olaf" },
      "audit",
    );
    expect(revocation).toMatchObject({ organization: "globex", userId: "olaf" });
    expect((await session("olaf", "globex")).status).toBe(403);
    expect((await session("olaf", "acme")).status).toBe(200);
    expect(await relay.admin.reinstate({ organization: "acme", userId: "olaf" })).toBe(false);
    expect(await relay.admin.reinstate({ organization: "globex", userId: "olaf" })).toBe(true);
    expect((await session("olaf", "globex")).status).toBe(200);
    expect(() => relay.admin.revoke({ organization: "", userId: "olaf" })).toThrow(
      /organization id/,
    );
  });
});

describe("reassigning across organizations", () => {
  it("gives an acme quote only to a known acme user; a globex user and an unknown id get the same answer", async () => {
    const acmeAdmin = await token("ada", "acme", ["admin"]);
    const alice = await client("alice", "acme");
    const quote = await quoteOf(alice, "alice", "acme");
    const gina = await sessionOf("gina", "globex");

    const toGlobex = await admin("POST", `documents/${quote.documentId}/reassign`, acmeAdmin, {
      owner: "gina",
    });
    const toNobody = await admin("POST", `documents/${quote.documentId}/reassign`, acmeAdmin, {
      owner: "never-seen",
    });
    expect(toGlobex.status).toBe(404);
    expect(shape(toGlobex, "gina")).toEqual(shape(toNobody, "never-seen"));
    expect(relayDoc<Quote>(relay, quote.documentId).owner).toBe("alice");
    const ginasWorkspace = gina.documents.workspace.slice("automerge:".length);
    expect(myIds(relayDoc<Workspace>(relay, ginasWorkspace))).toEqual([]);

    await sessionOf("bert", "acme");
    const toBert = await admin("POST", `documents/${quote.documentId}/reassign`, acmeAdmin, {
      owner: "bert",
    });
    expect(toBert.status).toBe(200);
    expect(relayDoc<Quote>(relay, quote.documentId).owner).toBe("bert");
  });
});

describe("lost access across organizations", () => {
  it("sam of globex is not told of sam of acme's lost access to an acme quote", async () => {
    const samAcme = await client("sam3", "acme");
    const quote = await quoteOf(samAcme, "sam3", "acme");
    await sessionOf("bert", "acme");
    await relay.admin.reassign(quote.documentId, "bert", "territory change");

    const peer = await RawPeer.connect(relay.url, await token("sam3", "globex"));
    closers.push(async () => peer.close());
    const relayPeer = await peer.join();
    const [, data] = A.generateSyncMessage(A.init(), A.initSyncState());
    peer.send({
      type: "request",
      senderId: peer.peerId,
      targetId: relayPeer,
      documentId: quote.documentId,
      data,
    });
    const answer = await peer.next((m) => m.documentId === quote.documentId);
    expect(answer.type).toBe("doc-unavailable");
    expect(peer.received.filter((m) => m.type === "ephemeral")).toEqual([]);
  });
});

describe("per-user documents", () => {
  it("sam of acme and sam of globex get different documents, and neither reads the other's", async () => {
    const acme = await sessionOf("sam", "acme");
    const globex = await sessionOf("sam", "globex");
    for (const kind of ["workspace", "ledger", "inbox", "organization"] as const)
      expect(globex.documents[kind]).not.toBe(acme.documents[kind]);

    const samAcme = await client("sam", "acme");
    const samGlobex = await client("sam", "globex");
    const own = await samGlobex.find<Workspace>(globex.documents.workspace as never);
    expect(own.doc().organization).toBe("globex");
    for (const kind of ["workspace", "ledger", "inbox"] as const) {
      await expect(samGlobex.find(acme.documents[kind] as never)).rejects.toThrow(/unavailable/);
      await expect(samAcme.find(globex.documents[kind] as never)).rejects.toThrow(/unavailable/);
    }
  });

  it("an assistance request of sam of globex reaches sam of globex's inbox, not sam of acme's", async () => {
    const acme = await sessionOf("sam2", "acme");
    const c = await createClient({
      url: relay.url,
      token: await token("sam2", "globex"),
      storage: "memory",
      schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
    });
    closers.push(() => c.close());
    await c.sync.now();
    await c.assistance.create({ subject: "Globex only", body: "for sam of globex" });
    await c.sync.now();
    await relay.processed();
    await expect
      .poll(async () => (await c.inbox.messages()).map((m) => m.subject).join("\n"))
      .toMatch(/Assistance request received/);
    const acmeInbox = await relay.repo.find<Inbox>(acme.documents.inbox as never);
    expect(Object.keys(acmeInbox.doc().messages ?? {})).toEqual([]);
  });
});

describe("a database from before organizations keyed users", () => {
  it("keeps each revocation for its organization and each user's documents", async () => {
    const old = tempDir();
    try {
      const db = openDatabase(join(old.dir, "relay.db"), 4);
      db.prepare(
        "INSERT INTO user_documents (user_id, organization, kind, doc_id) VALUES ('kim', 'acme', 'workspace', 'w1')",
      ).run();
      const revoke = db.prepare(
        "INSERT INTO revoked_users (user_id, organization, revoked_by, reason, revoked_at) VALUES (?, ?, 'operator', 'old', 1)",
      );
      revoke.run("carol", "globex");
      // The operator revoked kim before organizations mattered: kim is known in acme only.
      revoke.run("kim", "");
      db.close();
      const migrated = openDatabase(join(old.dir, "relay.db"));
      const rows = migrated
        .prepare("SELECT organization, user_id FROM revoked_members ORDER BY user_id")
        .all();
      expect(rows).toEqual([
        { organization: "globex", user_id: "carol" },
        { organization: "acme", user_id: "kim" },
      ]);
      expect(
        migrated.prepare("SELECT organization, user_id FROM members ORDER BY user_id").all(),
      ).toEqual([{ organization: "acme", user_id: "kim" }]);
      migrated.close();

      const upgraded = await startRelay(old.dir);
      try {
        const status = async (sub: string, org: string) =>
          (
            await fetch(`${upgraded.httpUrl}/v1/session`, {
              headers: {
                authorization: `Bearer ${await upgraded.mintToken({ sub, org, roles: ["rep"] })}`,
              },
            })
          ).status;
        expect(await status("carol", "globex")).toBe(403);
        expect(await status("carol", "acme")).toBe(200);
        expect(await status("kim", "acme")).toBe(403);
      } finally {
        await upgraded.close();
      }
    } finally {
      old.remove();
    }
  });
});
