import type { DocHandle, Repo } from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  myEntries,
  type Quote,
  type Workspace,
} from "../../src/docs/index.js";
import {
  closeCodes,
  isRefusalNotice,
  type RefusalNotice,
  type Relay,
  type SessionResponse,
} from "../../src/relay/index.js";
import { relayDoc, startRelay, stockClient, tempDir, waitFor, waitStored } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

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

const token = (sub: string, roles = ["rep"], org = "acme") =>
  relay.mintToken({ sub, org, roles, offline: true });

async function client(sub: string): Promise<Repo> {
  const c = stockClient(relay, await token(sub));
  closers.push(c.close);
  await waitFor(() => c.repo.peers.length > 0, `${sub} to connect`);
  return c.repo;
}

async function session(sub: string): Promise<Response> {
  return fetch(`${relay.httpUrl}/v1/session`, {
    headers: { authorization: `Bearer ${await token(sub)}` },
  });
}

async function post(path: string, body: unknown, bearer?: string): Promise<Response> {
  return fetch(`${relay.httpUrl}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function quoteOf(repo: Repo, owner: string): Promise<DocHandle<Quote>> {
  const handle = repo.create<Quote>(
    createQuote({
      owner: asUserId(owner),
      organization: asOrganizationId("acme"),
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

function myOf(sub: string): Promise<Record<string, unknown>> {
  return session(sub)
    .then((r) => r.json() as Promise<SessionResponse>)
    .then((s) => {
      const id = s.documents.workspace.slice("automerge:".length);
      return myEntries(relayDoc<Workspace>(relay, id));
    });
}

describe("admin API: who may call it", () => {
  it("answers 401 without a token, 403 without the admin role, 400 for a bad body, 404/409 for wrong targets", async () => {
    const path = "/v1/admin/users/zed/revoke";
    expect((await post(path, {})).status).toBe(401);
    const rep = await post(path, {}, await token("rita"));
    expect(rep.status).toBe(403);
    expect((await rep.json()).error.message).toMatch(/admin/);
    const admin = await token("ada", ["admin"]);
    const bad = await post("/v1/admin/documents/x/reassign", "{not json", admin);
    expect([bad.status, (await bad.json()).error.code]).toEqual([400, "INVALID_INPUT"]);
    const noOwner = await post("/v1/admin/documents/x/reassign", {}, admin);
    expect((await noOwner.json()).error.message).toMatch(/"owner"/);
    const missing = await post("/v1/admin/documents/nope/reassign", { owner: "bob" }, admin);
    expect(missing.status).toBe(404);
    const s = (await (await session("rita")).json()) as SessionResponse;
    const workspace = await post(
      `/v1/admin/documents/${encodeURIComponent(s.documents.workspace)}/reassign`,
      { owner: "bob" },
      admin,
    );
    expect([workspace.status, (await workspace.json()).error.code]).toEqual([409, "CONFLICT"]);
    const unknown = await post("/v1/admin/teapots/1/brew", {}, admin);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.message).toMatch(/reassign/);
  });

  it("keeps an admin of another organization away from a document", async () => {
    const alice = await client("alice");
    const quote = await quoteOf(alice, "alice");
    const outsider = await token("olga", ["admin"], "globex");
    const res = await post(
      `/v1/admin/documents/${quote.documentId}/reassign`,
      { owner: "olga" },
      outsider,
    );
    expect(res.status).toBe(404);
    expect(relayDoc<Quote>(relay, quote.documentId).owner).toBe("alice");
  });
});

describe("reassigning a document", () => {
  it("takes effect at once: the old owner's next change is refused with ACCESS_REVOKED, the new owner gets it in My", async () => {
    const alice = await client("alice2");
    const bob = await client("bob2");
    const quote = await quoteOf(alice, "alice2");
    const headsBefore = quote.heads();
    const seen: RefusalNotice[] = [];
    quote.on("ephemeral-message", ({ message }) => {
      if (isRefusalNotice(message)) seen.push(message);
    });
    const admin = await token("ada", ["admin"]);
    const res = await post(
      `/v1/admin/documents/automerge:${quote.documentId}/reassign`,
      { owner: "bob2", reason: "territory change" },
      admin,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      documentId: quote.documentId,
      previousOwner: "alice2",
      owner: "bob2",
      changed: true,
    });
    expect(relayDoc<Quote>(relay, quote.documentId).owner).toBe("bob2");
    expect(Object.keys(await myOf("bob2"))).toContain(quote.documentId);
    expect(Object.keys(await myOf("alice2"))).not.toContain(quote.documentId);

    // Alice is still connected: her next edit is refused, with the heads she may know.
    quote.change((q) => {
      q.projectName = "alice keeps typing";
    });
    const notice = await waitFor(() => seen[0], "the refusal notice");
    expect(notice.reasons[0]?.code).toBe("ACCESS_REVOKED");
    expect(notice.reasons[0]?.message).toMatch(/territory change/);
    expect(notice.heads).toEqual(
      (await import("@automerge/automerge-repo")).decodeHeads(headsBefore as never),
    );
    expect(relayDoc<Quote>(relay, quote.documentId).projectName).toBe("alice2's project");

    // Bob edits; nothing of it reaches Alice.
    const bobs = await bob.find<Quote>(quote.documentId);
    expect(bobs.doc().owner).toBe("bob2");
    bobs.change((q) => {
      q.projectName = "bob's now";
    });
    await waitStored(bob, bobs, relay.peerId);
    await new Promise((r) => setTimeout(r, 300));
    expect(quote.doc().projectName).toBe("alice keeps typing");

    // Doing it again changes nothing.
    const again = await relay.admin.reassign(quote.documentId, "bob2");
    expect(again.changed).toBe(false);
    const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/oms_relay_admin_actions_total\{action="reassign"\} [1-9]/);
    expect(metrics).toMatch(/oms_relay_refusals_total\{reason="access_revoked"\} [1-9]/);
  });
});

describe("revoking a user", () => {
  it("closes their sockets at once, refuses them until reinstated, and survives a restart", async () => {
    const before = await session("carl");
    expect(before.status).toBe(200);
    const peer = await RawPeer.connect(relay.url, await token("carl"));
    await peer.join();
    const admin = await token("ada", ["admin"]);
    const res = await post("/v1/admin/users/carl/revoke", { reason: "left the company" }, admin);
    expect(res.status).toBe(200);
    expect((await res.json()).reason).toBe("left the company");
    expect((await peer.closed).code).toBe(closeCodes.userRevoked);

    const refused = await session("carl");
    expect(refused.status).toBe(403);
    expect((await refused.json()).error).toMatchObject({
      code: "USER_REVOKED",
      message: expect.stringMatching(/left the company.*reinstate/),
    });
    await expect(RawPeer.connect(relay.url, await token("carl"))).rejects.toThrow(/403/);
    const list = await fetch(`${relay.httpUrl}/v1/admin/users/revoked`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect((await list.json()).revoked.map((r: { userId: string }) => r.userId)).toContain("carl");

    // A revoked admin is no admin.
    const ownRevocation = await relay.admin.revoke({ organization: "acme", userId: "ada2" });
    expect(ownRevocation.userId).toBe("ada2");
    const byRevoked = await post(
      "/v1/admin/users/carl/reinstate",
      {},
      await token("ada2", ["admin"]),
    );
    expect(byRevoked.status).toBe(403);

    const dir = data.dir;
    await relay.close();
    relay = await startRelay(dir);
    expect((await session("carl")).status).toBe(403);
    const reinstated = await post(
      "/v1/admin/users/carl/reinstate",
      {},
      await token("ada", ["admin"]),
    );
    expect(reinstated.status).toBe(200);
    expect((await session("carl")).status).toBe(200);
    const notRevoked = await post(
      "/v1/admin/users/carl/reinstate",
      {},
      await token("ada", ["admin"]),
    );
    expect(notRevoked.status).toBe(404);
  });
});
