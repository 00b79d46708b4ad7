import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo/slim";
import { afterAll, describe, expect, it } from "vitest";
import type { OrganizationId, UserId } from "../../src/docs/ids.js";
import type { Principal } from "../../src/policy/principal.js";
import { type BulkAnswer, BulkExport } from "../../src/relay/bulk-export.js";
import { headsKey } from "../../src/relay/catalogue/store-catalogue.js";
import { HeadsIndex } from "../../src/relay/heads-index.js";
import type { CatalogueRowInput } from "../../src/relay/store/index.js";
import { SqliteStore } from "../../src/relay/store/sqlite/sqlite-store.js";
import type { WriteGate } from "../../src/relay/write-gate.js";

// The row a bulk answer carries must describe the bytes it carries: sent only when the
// catalogue's row was derived at the heads sent and its document is not marked pending.

const alice: Principal = {
  userId: "alice" as UserId,
  organization: "acme" as OrganizationId,
  roles: ["rep"],
  offline: true,
};
const store = SqliteStore.open(":memory:");
const index = new HeadsIndex(store.heads);
const gate = {
  mayReadAll: async (_p: Principal, batch: readonly string[]) => batch.map(() => true),
} as unknown as WriteGate;
afterAll(() => store.close());

const row = (heads: string, project: string): CatalogueRowInput => ({
  kind: "quote",
  organization: "acme",
  owner: "alice",
  customer: "Hansen",
  project,
  currency: "USD",
  totalMinor: 100,
  lineCount: 1,
  createdAt: 1,
  updatedAt: 2,
  requestCount: 0,
  heads,
});

/** A document stored with its heads recorded; its row derived at `rowAt` of its versions. */
async function stored(id: string, rowAt: "current" | "older"): Promise<void> {
  const older = A.from({ projectName: "Old" });
  const current = A.change(older, (d) => {
    d.projectName = "New";
  });
  await store.chunks.save([id, "snapshot", "s"], A.save(current));
  await index.record(id, A.getHeads(current));
  const doc = rowAt === "current" ? current : older;
  await store.catalogue.write([
    { documentId: id, row: row(headsKey(A.getHeads(doc)), doc.projectName) },
  ]);
}

async function answer(rows: boolean, ids: string[]): Promise<BulkAnswer> {
  const bulk = new BulkExport({
    storage: store.chunks,
    index,
    gate,
    maxBytes: 1_000_000,
    ...(rows ? { rows: store.catalogue } : {}),
  });
  const parts: Uint8Array[] = [];
  for await (const part of bulk.export(alice, ids)) parts.push(part);
  return cbor.decode(Buffer.concat(parts)) as BulkAnswer;
}

describe("BulkExport with catalogue rows", () => {
  it("sends a row derived at the heads sent, and none behind them, pending or missing", async () => {
    await stored("current", "current");
    await stored("older", "older");
    await stored("pending", "current");
    await store.catalogue.saveChunkMarkingPending(
      "pending",
      ["pending", "incremental", "i"],
      new Uint8Array(0),
    );
    await store.chunks.save(["no-row", "snapshot", "s"], A.save(A.from({ projectName: "X" })));
    const docs = new Map(
      (await answer(true, ["current", "older", "pending", "no-row"])).docs.map((d) => [d.id, d]),
    );
    const { heads: _, ...derived } = row("", "New");
    expect(docs.get("current")?.row).toEqual(derived);
    expect(docs.get("older")?.row).toBeUndefined();
    expect(docs.get("pending")?.row).toBeUndefined();
    expect(docs.get("no-row")?.row).toBeUndefined();
    expect(docs.size).toBe(4);
  });

  it("sends no rows without a catalogue (as before)", async () => {
    const [doc] = (await answer(false, ["current"])).docs;
    expect(doc).toBeDefined();
    expect(doc && "row" in doc).toBe(false);
  });
});
