import * as A from "@automerge/automerge";
import { runStorageAdapterTests } from "@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OrganizationId, UserId } from "../../src/docs/ids.js";
import { rebuildStoreCatalogue } from "../../src/relay/catalogue/store-catalogue.js";
import type {
  CatalogueRowInput,
  CatalogueSearch,
  DecisionInput,
  LearnedOutcome,
  NumberFormat,
  RelayStore,
} from "../../src/relay/store/index.js";

/** Opens stores on one fresh database: `open` twice gives two "nodes" on the same data. */
export interface StoreFixture {
  open(): Promise<RelayStore>;
  teardown(): Promise<void>;
}

const org = "acme" as OrganizationId;
const alice = "alice" as UserId;
const so: NumberFormat = (_o, n) => `SO-${n}`;
const ticket: NumberFormat = (_o, n) => `T-${n}`;

/** An accepted outcome of order ox1 as a device's sealed ledger holds it. */
function learnedOutcome(more: Partial<LearnedOutcome>): LearnedOutcome {
  return {
    requestId: "x1",
    orderId: "ox1",
    owner: alice,
    requestedBy: alice,
    status: "accepted",
    revision: 1,
    orderNumber: "SO-7",
    heads: ["h"],
    duplicateOf: null,
    code: null,
    reason: null,
    processedAt: 5,
    ...more,
  };
}

function request(
  requestId: string,
  orderId: string,
  heads: string[],
  more: Partial<DecisionInput> = {},
): DecisionInput {
  return {
    requestId,
    orderId,
    organization: org,
    owner: alice,
    requestedBy: alice,
    heads,
    processedAt: 1_000,
    ...more,
  };
}

/**
 * The conformance suite every `RelayStore` passes: automerge-repo's storage adapter suite for the
 * chunks, then each concern's guarantees (types.ts), then two stores on one database at once.
 */
export function runStoreConformance(name: string, fixture: () => Promise<StoreFixture>): void {
  describe(`${name} chunks`, () => {
    // One store for automerge-repo's suite: each of its tests starts from no chunks.
    let shared: Promise<{ f: StoreFixture; store: RelayStore }> | undefined;
    afterAll(async () => {
      const opened = await shared;
      await opened?.store.close();
      await opened?.f.teardown();
    });
    runStorageAdapterTests(async () => {
      shared ??= fixture().then(async (f) => ({ f, store: await f.open() }));
      const { store } = await shared;
      return { adapter: store.chunks, teardown: () => store.chunks.removeRange([]) };
    }, name);
  });

  describe(`${name} store`, () => {
    let f: StoreFixture;
    let store: RelayStore;
    let other: RelayStore;
    beforeAll(async () => {
      f = await fixture();
      store = await f.open();
      other = await f.open();
    });
    afterAll(async () => {
      await store?.close();
      await other?.close();
      await f?.teardown();
    });

    it("reads chunks by whole key parts, in the order first saved, and answers ping", async () => {
      await store.ping();
      const bytes = (n: number) => new Uint8Array([n]);
      await store.chunks.save(["d1", "incremental", "b"], bytes(1));
      await store.chunks.save(["d1", "snapshot", "a"], bytes(2));
      await store.chunks.save(["d1x", "snapshot", "a"], bytes(3));
      await store.chunks.save(["d1", "incremental", "b"], bytes(4));
      const range = await other.chunks.loadRange(["d1"]);
      expect(range.map((c) => c.key.join("/"))).toEqual(["d1/incremental/b", "d1/snapshot/a"]);
      expect(range[0]?.data).toEqual(bytes(4));
      expect((await store.chunks.loadRange(["d1", "snapshot"])).length).toBe(1);
      await store.chunks.removeRange(["d1"]);
      expect(await store.chunks.loadRange(["d1"])).toEqual([]);
      expect(await store.chunks.load(["d1x", "snapshot", "a"])).toEqual(bytes(3));
    });

    it("keeps heads per document, last write wins, and answers '' for unknown ids", async () => {
      await store.heads.record("h1", { hash: "x", heads: ["aa"] });
      await other.heads.record("h1", { hash: "y", heads: ["bb", "cc"] });
      expect(await store.heads.entry("h1")).toEqual({ hash: "y", heads: ["bb", "cc"] });
      expect(await store.heads.entry("h2")).toBeUndefined();
      const hashes = await store.heads.hashes(["h1", "h2"]);
      expect([...hashes]).toEqual([
        ["h1", "y"],
        ["h2", ""],
      ]);
    });

    it("registers a document once, and a user's and an organization's documents once", async () => {
      expect(
        await store.registry.register("q1", { kind: "quote", owner: alice, organization: org }, 1),
      ).toBe(true);
      expect(
        await other.registry.register("q1", { kind: "order", owner: alice, organization: org }, 2),
      ).toBe(false);
      expect(await other.registry.get("q1")).toEqual({
        kind: "quote",
        owner: alice,
        organization: org,
      });
      expect(await store.registry.get("nope")).toBeUndefined();
      // Two nodes creating alice's ledger at once: one wins, the loser's id is not registered.
      const [a, b] = await Promise.all([
        store.registry.registerUserDocument(
          "L1",
          { kind: "ledger", owner: alice, organization: org },
          1,
        ),
        other.registry.registerUserDocument(
          "L2",
          { kind: "ledger", owner: alice, organization: org },
          1,
        ),
      ]);
      expect(a).toBe(b);
      const loser = a === "L1" ? "L2" : "L1";
      expect(await store.registry.get(loser)).toBeUndefined();
      expect(await store.registry.userDocument(org, alice, "ledger")).toBe(a);
      expect(await store.registry.userDocument("globex", alice, "ledger")).toBeUndefined();
      const [o1, o2] = await Promise.all([
        store.registry.registerOrganizationDocument("O1", org, 1),
        other.registry.registerOrganizationDocument("O2", org, 1),
      ]);
      expect(o1).toBe(o2);
      expect(await other.registry.organizationDocument(org)).toBe(o1);
      expect((await store.registry.get(o1))?.kind).toBe("organization");
      await store.registry.register(
        "a1",
        { kind: "assistance", owner: alice, organization: org },
        3,
      );
      const listed = await store.registry.list(["quote", "assistance"]);
      expect(listed.map((d) => d.documentId)).toEqual(["q1", "a1"]);
      expect(await store.registry.count()).toBe(4);
    });

    it("reads registry entries, heads and content chunks of many documents at once (bulk export)", async () => {
      const bytes = (n: number) => new Uint8Array([n]);
      // Saved by another node, interleaved between documents: each keeps its own saved order.
      await other.chunks.save(["m1", "incremental", "b"], bytes(1));
      await other.chunks.save(["m2", "snapshot", "a"], bytes(2));
      await other.chunks.save(["m1", "snapshot", "a"], bytes(3));
      await other.chunks.save(["m1", "sync-state", "peer"], bytes(9));
      await other.chunks.save(["m1x", "snapshot", "a"], bytes(4));
      await other.chunks.save(["m3", "sync-state", "peer"], bytes(9));
      await other.chunks.save(["m1", "incremental", "b"], bytes(5));
      const docs = await store.chunks.loadDocuments(["m2", "m1", "m3", "none"]);
      // Only content chunks, whole document ids (m1x is not m1), and none for m3 or unknown ids.
      expect([...docs.keys()].sort()).toEqual(["m1", "m2"]);
      expect(docs.get("m1")?.map((c) => [c.key.join("/"), c.data?.[0]])).toEqual([
        ["m1/incremental/b", 5],
        ["m1/snapshot/a", 3],
      ]);
      expect(docs.get("m1")).toEqual(
        (await store.chunks.loadRange(["m1"])).filter((c) => c.key[1] !== "sync-state"),
      );
      expect(docs.get("m2")?.map((c) => c.data?.[0])).toEqual([2]);
      expect((await store.chunks.loadDocuments([])).size).toBe(0);
      // The same keys without the bytes, in the same order.
      const keys = await store.chunks.contentKeys(["m2", "m1", "m3", "none"]);
      expect([...keys].sort()).toEqual(
        [...docs].map(([id, chunks]) => [id, chunks.map((c) => c.key)]).sort(),
      );
      expect((await store.chunks.contentKeys([])).size).toBe(0);

      await other.heads.record("mh1", { hash: "x", heads: ["aa", "bb"] });
      await other.heads.record("mh2", { hash: "y", heads: [] });
      const entries = await store.heads.entries(["mh1", "mh2", "mh3"]);
      expect([...entries].sort()).toEqual([
        ["mh1", { hash: "x", heads: ["aa", "bb"] }],
        ["mh2", { hash: "y", heads: [] }],
      ]);
      expect((await store.heads.entries([])).size).toBe(0);

      const meta = { kind: "order" as const, owner: alice, organization: org };
      await other.registry.register("mr1", meta, 1);
      await other.registry.register("mr2", { ...meta, kind: "quote" }, 1);
      const metas = await store.registry.getMany(["mr2", "unknown", "mr1"]);
      expect([...metas].sort()).toEqual([
        ["mr1", meta],
        ["mr2", { ...meta, kind: "quote" }],
      ]);
      expect((await store.registry.getMany([])).size).toBe(0);
    });

    it("knows members, revocations and lost access; a reassignment is one write", async () => {
      await store.members.saw(org, "bob", 1);
      await other.members.saw(org, "bob", 2);
      expect(await other.members.isMember(org, "bob")).toBe(true);
      expect(await other.members.isMember("globex", "bob")).toBe(false);

      const revocation = {
        organization: org,
        userId: "carol",
        revokedBy: "op",
        reason: "left",
        revokedAt: 5,
      };
      await store.access.revoke(revocation);
      expect(await other.access.revocations()).toEqual([revocation]);
      expect(await other.access.reinstate("globex", "carol")).toBe(false);
      expect(await other.access.reinstate(org, "carol")).toBe(true);
      expect(await store.access.revocations()).toEqual([]);

      await store.registry.register("q2", { kind: "quote", owner: alice, organization: org }, 1);
      await store.access.reassign("q2", "bob", {
        userId: alice,
        reason: "moved",
        heads: ["ff"],
        at: 7,
      });
      expect((await other.registry.get("q2"))?.owner).toBe("bob");
      expect(await other.access.lostAccess("q2", alice)).toEqual({
        reason: "moved",
        heads: ["ff"],
        at: 7,
      });
      await other.access.reassign("q2", alice);
      expect(await store.access.lostAccess("q2", alice)).toBeUndefined();
    });

    it("decides each request once: accepted, duplicate, amendment, rejected; numbers per organization", async () => {
      await store.submissions.noteRequests("o1", ["r1", "r2"], 10);
      await store.submissions.noteRequests("o1", ["r3", "r4"], 11);
      expect((await other.submissions.undecided(10)).map((r) => r.requestId)).toEqual([
        "r1",
        "r2",
        "r3",
        "r4",
      ]);

      const first = await store.submissions.decide(request("r1", "o1", ["h1"]), so);
      expect(first).toMatchObject({
        decidedNow: true,
        outcome: { status: "accepted", revision: 1, orderNumber: "SO-1", heads: ["h1"] },
      });
      const again = await other.submissions.decide(request("r1", "o1", ["zz"]), so);
      expect(again).toEqual({ outcome: first.outcome, decidedNow: false });
      const duplicate = await other.submissions.decide(request("r2", "o1", ["h1"]), so);
      expect(duplicate.outcome).toMatchObject({
        status: "duplicate",
        duplicateOf: "r1",
        revision: 1,
        orderNumber: "SO-1",
      });
      const amended = await store.submissions.decide(request("r3", "o1", ["h2"]), so);
      expect(amended.outcome).toMatchObject({
        status: "accepted",
        revision: 2,
        orderNumber: "SO-1",
      });
      const rejected = await store.submissions.decide(
        request("r4", "o1", ["h3"], { rejection: { code: "INCOMPLETE", reason: "no lines" } }),
        so,
      );
      expect(rejected.outcome).toMatchObject({
        status: "rejected",
        code: "INCOMPLETE",
        revision: null,
        orderNumber: null,
      });
      expect(await store.submissions.undecided(10)).toEqual([]);
      expect(await store.submissions.numberSequence("o1", "SO-1")).toBe(1);

      // Another organization counts from 1; another order of acme takes the next number.
      const globex = await store.submissions.decide(
        request("g1", "og", ["h"], { organization: "globex" }),
        so,
      );
      expect(globex.outcome.orderNumber).toBe("SO-1");
      const second = await other.submissions.decide(request("r5", "o2", ["h"]), so);
      expect(second.outcome.orderNumber).toBe("SO-2");

      const undelivered = await store.submissions.undelivered(10);
      expect(undelivered.map((o) => o.requestId)).toEqual(["r1", "r2", "r3", "r4", "g1", "r5"]);
      await other.submissions.markDelivered("r1");
      expect((await store.submissions.outcome("r1"))?.delivered).toBe(true);
      expect((await store.submissions.undelivered(10)).length).toBe(5);
    });

    it("gives back a number when the decision fails: a format that repeats one leaves no gap", async () => {
      await store.submissions.decide(
        request("c1", "oc1", ["h"], { organization: "gapless" }),
        () => "X",
      );
      await expect(
        other.submissions.decide(
          request("c2", "oc2", ["h"], { organization: "gapless" }),
          () => "X",
        ),
      ).rejects.toMatchObject({ code: "CONFLICT" });
      expect(await store.submissions.outcome("c2")).toBeUndefined();
      const ok = await store.submissions.decide(
        request("c2", "oc2", ["h"], { organization: "gapless" }),
        (_o, n) => `N${n}`,
      );
      expect(ok.outcome.orderNumber).toBe("N2");
    });

    it("gives each assistance request one ticket, per organization, and marks delivery", async () => {
      await store.registry.register(
        "a2",
        { kind: "assistance", owner: alice, organization: org },
        4,
      );
      const fresh = await store.submissions.unticketed(10);
      expect(fresh.map((d) => d.documentId)).toEqual(["a1", "a2"]);
      const t1 = await store.submissions.assignTicket(fresh[0] as (typeof fresh)[0], ticket, 50);
      const t1again = await other.submissions.assignTicket(
        fresh[0] as (typeof fresh)[0],
        ticket,
        60,
      );
      expect(t1again).toEqual({ ticket: t1.ticket, assignedNow: false });
      expect(t1.ticket).toMatchObject({
        ticketNumber: "T-1",
        n: 1,
        receivedAt: 50,
        delivered: false,
      });
      const t2 = await other.submissions.assignTicket(fresh[1] as (typeof fresh)[0], ticket, 51);
      expect(t2.ticket.ticketNumber).toBe("T-2");
      expect(await store.submissions.unticketed(10)).toEqual([]);
      expect((await store.submissions.undeliveredTickets(10)).map((t) => t.documentId)).toEqual([
        "a1",
        "a2",
      ]);
      await store.submissions.markTicketDelivered("a1");
      expect((await other.submissions.undeliveredTickets(10)).map((t) => t.documentId)).toEqual([
        "a2",
      ]);
    });

    it("leases claims: another node waits until one expires, then takes it over", async () => {
      const ids = ["w1", "w2", "w3"];
      expect(await store.submissions.claim("decide", ids, "A", 1_000, 100)).toEqual(ids);
      expect(await other.submissions.claim("decide", ["w1", "w4"], "B", 1_000, 500)).toEqual([
        "w4",
      ]);
      // Renewing one's own claim is allowed.
      expect(await store.submissions.claim("decide", ["w1"], "A", 1_000, 600)).toEqual(["w1"]);
      // A's lease on w2 ended at 1,100: B takes it over; w1 was renewed until 1,600.
      expect(await other.submissions.claim("decide", ["w1", "w2"], "B", 1_000, 1_200)).toEqual([
        "w2",
      ]);
      // Another kind of work is another claim.
      expect(await other.submissions.claim("deliver", ["w1"], "B", 1_000, 1_200)).toEqual(["w1"]);
      await other.submissions.release("decide", ["w1"], "B");
      expect(await other.submissions.claim("decide", ["w1"], "B", 1_000, 1_300)).toEqual([]);
      await store.submissions.release("decide", ["w1"], "A");
      expect(await other.submissions.claim("decide", ["w1"], "B", 1_000, 1_300)).toEqual(["w1"]);
    });

    it("learns back restore receipts in one write, raising the sequences past them", async () => {
      const learned = await store.restore.learn(
        "restored",
        [learnedOutcome({ orderNumber: "SO-7", sequence: 7 })],
        [{ documentId: "ax1", owner: alice, ticketNumber: "T-3", receivedAt: 6, sequence: 3 }],
      );
      expect(learned).toEqual({ outcomes: ["learned"], tickets: ["learned"] });
      const again = await other.restore.learn(
        "restored",
        [learnedOutcome({ orderNumber: "SO-8" })],
        [{ documentId: "ax1", owner: alice, ticketNumber: "T-3", receivedAt: 6 }],
      );
      expect(again).toEqual({ outcomes: ["conflict"], tickets: ["known"] });
      const next = await other.submissions.decide(
        request("x2", "ox2", ["h"], { organization: "restored" }),
        so,
      );
      expect(next.outcome.orderNumber).toBe("SO-8");
      expect((await store.submissions.outcome("x1"))?.delivered).toBe(false);
    });

    it("two nodes at once: claims never overlap, every request gets one outcome, numbers have no gaps", async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `p${i}`);
      const [a, b] = await Promise.all([
        store.submissions.claim("ticket", ids, "A", 60_000, 1),
        other.submissions.claim("ticket", ids, "B", 60_000, 1),
      ]);
      expect(a.filter((id) => b.includes(id))).toEqual([]);
      expect([...a, ...b].sort()).toEqual([...ids].sort());

      // Both nodes decide every request of 12 orders at once.
      const requests = Array.from({ length: 12 }, (_, i) =>
        request(`q${i}`, `oq${i}`, ["h"], { organization: "race" }),
      );
      const results = await Promise.all(
        requests.flatMap((r) => [store.submissions.decide(r, so), other.submissions.decide(r, so)]),
      );
      expect(results.filter((r) => r.decidedNow).length).toBe(12);
      const numbers = new Set(results.map((r) => r.outcome.orderNumber));
      expect([...numbers].sort()).toEqual(
        Array.from({ length: 12 }, (_, i) => `SO-${i + 1}`).sort(),
      );
      for (const r of requests) {
        const [x, y] = results.filter((o) => o.outcome.requestId === r.requestId);
        expect(x?.outcome).toEqual(y?.outcome);
      }
    });

    describe("the catalogue", () => {
      const row = (more: Partial<CatalogueRowInput> = {}): CatalogueRowInput => ({
        kind: "quote",
        organization: "cat",
        owner: "alice",
        customer: "Acme",
        project: "Roof",
        currency: "USD",
        totalMinor: 100,
        lineCount: 1,
        createdAt: 1,
        updatedAt: 1,
        requestCount: 0,
        heads: "h",
        ...more,
      });
      const search = (more: Partial<CatalogueSearch> = {}): CatalogueSearch => ({
        kind: "quote",
        sort: "updated",
        order: "asc",
        limit: 100,
        access: [{ organization: "cat" }],
        ...more,
      });
      const ids = async (s: RelayStore, q: Partial<CatalogueSearch>) =>
        (await s.catalogue.search(search(q))).map((r) => r.documentId);

      it("searches customer, project and order number: case-insensitive, prefix and substring, wildcards literal", async () => {
        await store.catalogue.write([
          { documentId: "c1", row: row({ customer: "Birch & Sons", project: "Attic" }) },
          { documentId: "c2", row: row({ customer: "ÉCOLE 100%", project: "Gym_Hall" }) },
          { documentId: "c3", row: row({ customer: "Oak", project: "Birchwood deck" }) },
        ]);
        expect(await ids(other, { q: "birch" })).toEqual(["c1", "c3"]);
        expect(await ids(other, { q: "SONS" })).toEqual(["c1"]);
        expect(await ids(other, { q: "école" })).toEqual(["c2"]);
        expect(await ids(other, { q: "100%" })).toEqual(["c2"]);
        expect(await ids(other, { q: "m_h" })).toEqual(["c2"]);
        expect(await ids(other, { q: "%" })).toEqual(["c2"]);
        expect(await ids(other, { q: "zzz" })).toEqual([]);
        expect(await other.catalogue.rowHeads("c1")).toBe("h");
        expect(await other.catalogue.rowHeads("nope")).toBeUndefined();

        // An order's number comes from the outcome, whichever node decides it.
        await store.catalogue.write([
          { documentId: "co1", row: row({ kind: "order", customer: "Elm", requestCount: 1 }) },
        ]);
        expect(await ids(other, { kind: "order", state: "pending" })).toEqual(["co1"]);
        await other.submissions.noteRequests("co1", ["cr1"], 5);
        await other.submissions.decide(
          request("cr1", "co1", ["h"], { organization: "cat", owner: alice }),
          (_o, n) => `CAT-${n}`,
        );
        await store.catalogue.applyOutcomes();
        const [order] = await store.catalogue.search(search({ kind: "order", q: "cat-1" }));
        expect(order).toMatchObject({
          documentId: "co1",
          state: "submitted",
          orderNumber: "CAT-1",
          revision: 1,
        });
        // Written again (an edit), the row keeps its submission columns.
        await other.catalogue.write([
          { documentId: "co1", row: row({ kind: "order", customer: "Elm Ltd", requestCount: 1 }) },
        ]);
        expect(await ids(store, { kind: "order", state: "submitted", q: "elm ltd" })).toEqual([
          "co1",
        ]);
      });

      it("applies the access clauses, owner and state filters in the query", async () => {
        await store.catalogue.write([
          { documentId: "a1", row: row({ organization: "acc", owner: "ann" }) },
          { documentId: "a2", row: row({ organization: "acc", owner: "bob" }) },
          { documentId: "a3", row: row({ organization: "acc2", owner: "ann" }) },
        ]);
        const org = (organization: string, owners?: string[]) => ({
          organization,
          ...(owners ? { owners } : {}),
        });
        expect(await ids(other, { access: [org("acc")] })).toEqual(["a1", "a2"]);
        expect(await ids(other, { access: [org("acc", ["bob"])] })).toEqual(["a2"]);
        expect(await ids(other, { access: [org("acc", [])] })).toEqual([]);
        expect(await ids(other, { access: [] })).toEqual([]);
        expect(await ids(other, { access: [org("acc", ["ann"]), org("acc2")] })).toEqual([
          "a1",
          "a3",
        ]);
        expect(await ids(other, { access: [org("acc")], owner: "ann" })).toEqual(["a1"]);
        expect(await ids(other, { access: [org("acc")], state: "draft" })).toEqual([]);
      });

      it("pages in every sort with ties broken by id; concurrent inserts neither skip nor repeat a row", async () => {
        const base = Array.from({ length: 30 }, (_, i) => ({
          documentId: `p${String(i).padStart(2, "0")}`,
          row: row({
            organization: "page",
            customer: ["b", "A", "ä", "B"][i % 4] as string,
            totalMinor: i % 3 === 0 ? null : (i % 5) * 10,
            updatedAt: i % 4,
            createdAt: 100 - (i % 6),
          }),
        }));
        await store.catalogue.write(base);
        for (const sort of ["updated", "created", "customer", "total"] as const) {
          for (const order of ["asc", "desc"] as const) {
            const q = { access: [{ organization: "page" }], sort, order };
            const all = await store.catalogue.search(search(q));
            const seen: string[] = [];
            let after: CatalogueSearch["after"];
            let round = 0;
            for (;;) {
              const page = await other.catalogue.search(
                search({ ...q, limit: 7, ...(after ? { after } : {}) }),
              );
              seen.push(...page.map((r) => r.documentId));
              // Another node inserts rows before and after the cursor while we page.
              await store.catalogue.write([
                {
                  documentId: `p-${sort}-${order}-${round++}`,
                  row: row({ organization: "page", customer: "a", updatedAt: 2, createdAt: 97 }),
                },
              ]);
              const last = page.at(-1);
              if (page.length < 7 || !last) break;
              after = { value: last.sortValue, id: last.documentId };
            }
            expect(new Set(seen).size).toBe(seen.length);
            // Every row there when paging began is seen once, in the one order both engines use.
            const before = all.map((r) => r.documentId);
            expect(seen.filter((id) => before.includes(id))).toEqual(before);
          }
        }
        // The order itself: customer by lowercase bytes ("ä" after "b"), then id; no total last.
        const page = { organization: "page" };
        expect(
          await ids(store, { access: [page], sort: "customer", order: "desc", limit: 7 }),
        ).toEqual(["p26", "p22", "p18", "p14", "p10", "p06", "p02"]);
        expect(
          await ids(store, { access: [page], sort: "total", order: "desc", limit: 3 }),
        ).toEqual(["p27", "p24", "p21"]);
      });

      it("marks a document pending with its chunk, unmarks it with its row, and replaces every row at once", async () => {
        await store.catalogue.saveChunkMarkingPending(
          "m1",
          ["m1", "incremental", "x"],
          new Uint8Array([7]),
        );
        expect(await other.catalogue.pending()).toContain("m1");
        expect(await other.chunks.load(["m1", "incremental", "x"])).toEqual(new Uint8Array([7]));
        await other.catalogue.write([{ documentId: "m1", row: row({ organization: "mark" }) }]);
        expect(await store.catalogue.pending()).not.toContain("m1");
        await store.catalogue.saveChunkMarkingPending(
          "m2",
          ["m2", "snapshot", "y"],
          new Uint8Array([8]),
        );
        await store.catalogue.clearPending("m2");
        expect(await store.catalogue.pending()).not.toContain("m2");

        await store.catalogue.saveChunkMarkingPending(
          "m3",
          ["m3", "snapshot", "y"],
          new Uint8Array([9]),
        );
        await other.catalogue.replaceAll([
          { documentId: "r1", row: row({ organization: "rebuilt", customer: "Zed" }) },
        ]);
        expect(await ids(store, { access: [{ organization: "rebuilt" }] })).toEqual(["r1"]);
        expect(await ids(store, { access: [{ organization: "mark" }] })).toEqual([]);
        expect(await ids(store, { access: [{ organization: "cat" }] })).toEqual([]);
        expect(await store.catalogue.pending()).toEqual([]);
      });

      it("rebuilds every row from the stored documents, naming the ones with nothing stored", async () => {
        const meta = { kind: "assistance", organization: "rb", owner: alice } as const;
        await store.registry.register("rb1", { ...meta, organization: org }, 1);
        await store.registry.register("rb2", { ...meta, organization: org }, 2);
        const doc = A.from({ subject: "Leaking valve", createdAt: 5 });
        await store.chunks.save(["rb1", "snapshot", "k"], A.save(doc));
        const rebuilt = await rebuildStoreCatalogue(other);
        expect(rebuilt.skipped).toContain("rb2");
        const [found] = await other.catalogue.search(
          search({ kind: "assistance", q: "valve", access: [{ organization: org }] }),
        );
        expect(found).toMatchObject({ documentId: "rb1", project: "Leaking valve", createdAt: 5 });
        expect(await other.catalogue.rowHeads("rb1")).toBe(A.getHeads(doc).join(","));
      });

      it("reads the rows of many documents at once, leaving out those pending or without a row", async () => {
        await store.catalogue.write([
          {
            documentId: "cr1",
            row: row({ organization: "cr", totalMinor: 2 ** 40, heads: "a,b" }),
          },
          { documentId: "cr2", row: row({ organization: "cr", kind: "order", requestCount: 2 }) },
          { documentId: "cr3", row: row({ organization: "cr", totalMinor: null }) },
        ]);
        await store.catalogue.saveChunkMarkingPending(
          "cr3",
          ["cr3", "incremental", "z"],
          new Uint8Array([1]),
        );
        const rows = await other.catalogue.currentRows(["cr1", "cr2", "cr3", "cr-none"]);
        expect([...rows.keys()].sort()).toEqual(["cr1", "cr2"]);
        expect(rows.get("cr1")).toEqual(
          row({ organization: "cr", totalMinor: 2 ** 40, heads: "a,b" }),
        );
        expect(rows.get("cr2")).toMatchObject({ kind: "order", requestCount: 2, heads: "h" });
        expect((await other.catalogue.currentRows([])).size).toBe(0);
      });
    });
  });
}
