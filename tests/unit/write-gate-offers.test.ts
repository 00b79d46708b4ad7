import * as A from "@automerge/automerge";
import { generateAutomergeUrl, parseAutomergeUrl, Repo } from "@automerge/automerge-repo";
import { describe, expect, it } from "vitest";
import { defaultAccessPolicy } from "../../src/policy/access.js";
import { type Principal, parsePrincipal } from "../../src/policy/principal.js";
import { openDatabase } from "../../src/relay/database.js";
import { DocumentRegistry } from "../../src/relay/registry.js";
import { SqliteStore } from "../../src/relay/store/sqlite/sqlite-store.js";
import { WriteGate } from "../../src/relay/write-gate.js";

const sam = (org: string): Principal =>
  parsePrincipal({ sub: "sam", org, roles: ["rep"], offline: true });

describe("the write gate's pending offers", () => {
  it("belong to the offering user of their organization, not to a same-named user elsewhere", async () => {
    const db = openDatabase(":memory:");
    const repo = new Repo({ network: [] });
    const gate = new WriteGate({
      repo,
      registry: new DocumentRegistry(new SqliteStore(db).registry),
      policy: defaultAccessPolicy,
      settleTimeoutMs: 1_000,
      maxPendingOffers: 10,
    });
    const { documentId } = parseAutomergeUrl(generateAutomergeUrl());
    // A device offers a document the relay does not have: its heads, no changes.
    const doc = A.change(A.init<{ n: number }>(), (d) => {
      d.n = 1;
    });
    const [, offer] = A.generateSyncMessage(doc, A.initSyncState());
    const verdict = await gate.check(sam("acme"), documentId, offer as Uint8Array);
    expect(verdict.action).toBe("answer");
    expect(gate.canRead(sam("acme"), documentId)).toBe(true);
    expect(gate.canRead(sam("globex"), documentId)).toBe(false);
    await repo.shutdown();
    db.close();
  });
});
