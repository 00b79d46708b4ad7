import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo/slim";
import { afterAll, describe, expect, it } from "vitest";
import type { OrganizationId, UserId } from "../../src/docs/ids.js";
import type { Principal } from "../../src/policy/principal.js";
import { type BulkAnswer, BulkExport, bulkReadBatch } from "../../src/relay/bulk-export.js";
import { HeadsIndex } from "../../src/relay/heads-index.js";
import { SqliteStore } from "../../src/relay/store/sqlite/sqlite-store.js";
import type { WriteGate } from "../../src/relay/write-gate.js";

const alice: Principal = {
  userId: "alice" as UserId,
  organization: "acme" as OrganizationId,
  roles: ["rep"],
  offline: true,
};

// Enough documents for several read batches, each about the same size.
const count = bulkReadBatch * 2 + 7;
const store = SqliteStore.open(":memory:");
const index = new HeadsIndex(store.heads);
const ids = Array.from({ length: count }, (_, i) => `doc${String(i).padStart(4, "0")}`);
const sizes = new Map<string, number>();
for (const [i, id] of ids.entries()) {
  const doc = A.from({ n: i, text: "x".repeat(100) });
  const data = A.save(doc);
  await store.chunks.save([id, "snapshot", "s"], data);
  sizes.set(id, data.byteLength);
  // One in ten was stored before heads were recorded: the export learns them.
  if (i % 10 !== 3) await index.record(id, A.getHeads(doc));
}
const refused = new Set(ids.filter((_, i) => i % 7 === 5));
const readBatches: number[] = [];
const gate = {
  mayReadAll: async (_p: Principal, batch: readonly string[]) => {
    readBatches.push(batch.length);
    return batch.map((id) => !refused.has(id));
  },
} as unknown as WriteGate;

afterAll(() => store.close());

async function run(asked: string[], maxBytes: number): Promise<BulkAnswer> {
  const bulk = new BulkExport({ storage: store.chunks, index, gate, maxBytes });
  const parts: Uint8Array[] = [];
  for await (const part of bulk.export(alice, asked)) parts.push(part);
  return cbor.decode(Buffer.concat(parts)) as BulkAnswer;
}

describe("BulkExport, reading in batches", () => {
  it("answers every id once, in the order asked, across batches", async () => {
    readBatches.length = 0;
    const answer = await run([...ids, ids[0] as string], 1 << 30);
    expect(answer.docs.map((d) => d.id)).toEqual(ids.filter((id) => !refused.has(id)));
    expect(answer.unavailable).toEqual([...refused]);
    expect(answer.more).toEqual([]);
    expect(readBatches).toEqual([bulkReadBatch, bulkReadBatch, 7]);
    for (const doc of answer.docs) {
      const loaded = A.load(doc.data);
      expect(A.getHeads(loaded)).toEqual(doc.heads);
    }
    // Heads learned for the documents stored without them are recorded (refused ones not read).
    const recorded = await store.heads.entries(ids);
    expect(ids.filter((id) => !recorded.has(id)).every((id) => refused.has(id))).toBe(true);
    expect(recorded.size).toBeGreaterThanOrEqual(count - refused.size);
  });

  it("stops at the byte limit inside a batch and reads no further batch", async () => {
    readBatches.length = 0;
    const per = sizes.get(ids[0] as string) as number;
    // The limit falls in the second batch.
    const answer = await run(ids, per * (bulkReadBatch + 10));
    const bytes = answer.docs.reduce((n, d) => n + d.data.byteLength, 0);
    expect(bytes).toBeLessThanOrEqual(per * (bulkReadBatch + 10));
    expect(readBatches).toEqual([bulkReadBatch, bulkReadBatch]);
    // Every id asked is in exactly one list, in order; `more` is everything after the limit.
    const answered = answer.docs.map((d) => d.id);
    const last = ids.indexOf(answered.at(-1) as string);
    expect(answer.more).toEqual(ids.slice(last + 1));
    expect([...answered, ...answer.unavailable].sort()).toEqual(ids.slice(0, last + 1));
    expect(answer.unavailable.every((id) => refused.has(id))).toBe(true);
  });
});
