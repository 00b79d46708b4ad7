import { join } from "node:path";
import * as A from "@automerge/automerge";
import { cbor, type DocHandle, type Repo } from "@automerge/automerge-repo";
import Database from "better-sqlite3";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  asOrganizationId,
  asUserId,
  createQuote,
  type Quote,
  setHeader,
} from "../../src/docs/index.js";
import { isRefusalNotice, type RefusalNotice, type Relay } from "../../src/relay/index.js";
import { relayDoc, startRelay, stockClient, tempDir, waitFor, waitStored } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

// Whatever the Repo fails on (here: a document whose every save throws, injected at the storage
// seam with a SQLite trigger), only that document is affected, and shutdown stores the others.

let relay: Relay;
let data: { dir: string; remove: () => void };
let alice: { repo: Repo; close: () => Promise<void> };
let token: string;
let broken: DocHandle<Quote>;
let healthy: DocHandle<Quote>;
const logs: Record<string, unknown>[] = [];
const rejections: unknown[] = [];
const record = (reason: unknown) => rejections.push(reason);

beforeAll(async () => {
  process.on("unhandledRejection", record);
  data = tempDir();
  relay = await startRelay(data.dir, {
    logger: pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) }),
  });
  token = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
  alice = stockClient(relay, token);
  await waitFor(() => alice.repo.peers.length > 0, "alice to connect");
  const quote = () =>
    alice.repo.create<Quote>(
      createQuote({
        owner: asUserId("alice"),
        organization: asOrganizationId("acme"),
        currency: "USD",
      }),
    );
  broken = quote();
  healthy = quote();
  await waitStored(alice.repo, broken, relay.peerId);
  await waitStored(alice.repo, healthy, relay.peerId);
});
afterAll(async () => {
  await alice.close();
  await relay.close();
  data.remove();
  process.off("unhandledRejection", record);
});

/** From now on, every write of this document's chunks fails, as a failing disk would. */
function failSaves(documentId: string): void {
  const db = new Database(join(data.dir, "relay.db"));
  for (const when of ["INSERT", "UPDATE"]) {
    db.exec(`CREATE TRIGGER fail_${when}_${documentId} BEFORE ${when} ON chunks
      WHEN NEW.key LIKE '${documentId}%' BEGIN SELECT RAISE(ABORT, 'injected storage fault'); END`);
  }
  db.close();
}

async function edit(handle: DocHandle<Quote>, name: string): Promise<void> {
  handle.change((q) => setHeader(q, { projectName: name }));
}

describe("a document the Repo fails on", () => {
  it("is isolated; other documents and users go on; nothing is left unhandled", async () => {
    failSaves(broken.documentId);
    await edit(broken, "never stored");
    const isolated = await waitFor(
      () => relay.isolatedDocuments().find((d) => d.documentId === broken.documentId),
      "the document to be isolated",
    );
    expect(isolated.stage).toBe("save");
    expect(logs.some((l) => l.documentId === broken.documentId && l.level === 50)).toBe(true);
    const health = await (await fetch(`${relay.httpUrl}/healthz`)).json();
    expect(health).toMatchObject({ status: "ok", isolatedDocuments: 1 });
    const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^oms_relay_documents_isolated 1$/m);

    // Its messages are refused with TRY_LATER: the sender keeps its changes.
    const peer = await RawPeer.connect(relay.url, token);
    await peer.join();
    peer.send({
      type: "sync",
      senderId: peer.peerId,
      targetId: relay.peerId,
      documentId: broken.documentId,
      data: A.generateSyncMessage(A.init(), A.initSyncState())[1] as Uint8Array,
    });
    const message = await peer.next(
      (m) =>
        m.type === "ephemeral" &&
        m.documentId === broken.documentId &&
        isRefusalNotice(cbor.decode(m.data as Uint8Array)),
    );
    const notice = cbor.decode(message.data as Uint8Array) as RefusalNotice;
    expect(notice.reasons.map((r) => r.code)).toEqual(["TRY_LATER"]);
    peer.close();

    await edit(healthy, "stored");
    await waitStored(alice.repo, healthy, relay.peerId);
    expect(relayDoc<Quote>(relay, healthy.documentId).projectName).toBe("stored");
    expect(rejections).toEqual([]);
  });

  it("shutdown stores every other document and names the one it could not store", async () => {
    await edit(healthy, "stored before shutdown");
    await waitStored(alice.repo, healthy, relay.peerId);
    await alice.close();
    await relay.close();
    const report = logs.find((l) => Array.isArray(l.failed) && l.level === 50) as
      | { failed: { documentId: string }[]; stored: number }
      | undefined;
    expect(report?.failed.map((f) => f.documentId)).toEqual([broken.documentId]);
    expect(report?.stored).toBeGreaterThan(0);
    expect(rejections).toEqual([]);

    relay = await startRelay(data.dir);
    const handle = await relay.repo.find<Quote>(healthy.documentId as never);
    expect(handle.doc().projectName).toBe("stored before shutdown");
    alice = { repo: alice.repo, close: async () => {} };
  });
});
