import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import {
  type AutomergeUrl,
  cbor,
  type DocHandle,
  generateAutomergeUrl,
  parseAutomergeUrl,
  Repo,
} from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteStorageAdapter } from "../../src/adapters/storage-sqlite.js";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  type Quote,
} from "../../src/docs/index.js";
import { mintToken } from "../../src/relay/auth.js";
import { openDatabase } from "../../src/relay/database.js";
import { TEST_SECRET, tempDir, waitFor, waitStored } from "../integration/helpers.js";
import { RawPeer } from "../integration/raw-peer.js";
import { type RelayProcess, spawnRelay } from "../integration/relay-process.js";

// A protocol fuzzer over real sockets against the relay's CLI in its own process. Each case is a
// fresh connection, authenticated as "fred", sending generated and mutated messages. Long runs:
// OMS_FUZZ_RUNS=1000 (npm run test:fuzz); OMS_FUZZ_REPORT=file writes the figures as JSON.
const runs = Number(process.env.OMS_FUZZ_RUNS) || 25;
const SECRET_MARK = "SECRET-not-for-fred";
const secret = new TextEncoder().encode(TEST_SECRET);

let relay: RelayProcess;
let data: { dir: string; remove: () => void };
let wendy: { repo: Repo; quote: DocHandle<Quote>; relayPeer: string };
let veraDoc: string;
let fredDoc: string;
const stats = { cases: 0, messages: 0, bytes: 0, closedByRelay: 0, wellBehavedSyncs: 0 };

const token = (sub: string, roles = ["rep"]) =>
  mintToken(secret, { sub, org: "acme", roles, offline: true });

async function stockClient(sub: string): Promise<{ repo: Repo; relayPeer: string }> {
  const adapter = new WebSocketClientAdapter(`${relay.url}/?token=${await token(sub)}`, 200);
  const repo = new Repo({ network: [adapter] });
  await waitFor(() => repo.peers.length > 0, `${sub} to connect`);
  return { repo, relayPeer: repo.peers[0] as string };
}

async function quoteOf(
  client: { repo: Repo; relayPeer: string },
  owner: string,
  name: string,
): Promise<DocHandle<Quote>> {
  const handle = client.repo.create<Quote>(
    createQuote({
      owner: asUserId(owner),
      organization: asOrganizationId("acme"),
      currency: "USD",
      projectName: name,
    }),
  );
  handle.change((q) => {
    addLineItem(q, { productCode: "DH-3046", quantity: 1, unitPrice: 100 });
  });
  await waitStored(client.repo, handle, client.relayPeer);
  return handle;
}

beforeAll(async () => {
  data = tempDir();
  relay = await spawnRelay(data.dir);
  const vera = await stockClient("vera");
  veraDoc = (await quoteOf(vera, "vera", SECRET_MARK)).documentId;
  await vera.repo.shutdown();
  const fred = await stockClient("fred");
  fredDoc = (await quoteOf(fred, "fred", "fred's own")).documentId;
  await fred.repo.shutdown();
  const w = await stockClient("wendy");
  wendy = { ...w, quote: await quoteOf(w, "wendy", SECRET_MARK) };
}, 60_000);

afterAll(async () => {
  await wendy?.repo.shutdown();
  relay?.child.kill("SIGTERM");
  await relay?.exited;
  data?.remove();
});

// ---- what a case sends -------------------------------------------------------------------------

type Who = "self" | "other" | "relay" | "random";
type DataPlan =
  | "emptyRequest"
  | "freshDoc"
  | "corrupted"
  | "truncated"
  | "missingDeps"
  | "manyHeads"
  | "randomBytes"
  | "notBytes"
  | "big";

type Op =
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "cbor"; value: unknown }
  | { kind: "join"; sender: Who; metadata: unknown }
  | {
      kind: "message";
      type: string;
      sender: Who;
      target: Who;
      doc: number;
      data: DataPlan;
      flips: number[];
      extra: Record<string, unknown>;
    };

const arbWho = fc.constantFrom<Who>("self", "other", "relay", "random");
const arbData = fc.constantFrom<DataPlan>(
  "emptyRequest",
  "freshDoc",
  "corrupted",
  "truncated",
  "missingDeps",
  "manyHeads",
  "randomBytes",
  "notBytes",
  "big",
);
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("bytes" as const),
      bytes: fc.uint8Array({ maxLength: 300 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("cbor" as const),
      value: fc.anything({ maxDepth: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("join" as const),
      sender: arbWho,
      metadata: fc.oneof(fc.constant({}), fc.anything({ maxDepth: 2 })),
    }),
  },
  {
    weight: 7,
    arbitrary: fc.record({
      kind: fc.constant("message" as const),
      type: fc.constantFrom(
        "sync",
        "request",
        "sync",
        "request",
        "ephemeral",
        "doc-unavailable",
        "leave",
        "remote-subscription-change",
        "remote-heads-changed",
        "peer",
        "no-such-type",
      ),
      sender: fc.constantFrom<Who>("self", "self", "self", "other", "random"),
      target: fc.constantFrom<Who>("relay", "relay", "relay", "self", "random"),
      doc: fc.nat(7),
      data: arbData,
      flips: fc.array(fc.nat(10_000), { maxLength: 4 }),
      extra: fc.dictionary(
        fc.constantFrom(
          "count",
          "sessionId",
          "documentId",
          "targetId",
          "heads",
          "data",
          "__proto__",
          "constructor",
        ),
        fc.oneof(
          fc.constant(2 ** 53),
          fc.constant(-1),
          fc.string(),
          fc.constant(null),
          fc.array(fc.nat(), { maxLength: 3 }),
          fc.uint8Array({ maxLength: 8 }),
        ),
        { maxKeys: 2 },
      ),
    }),
  },
);

function documentIdFor(index: number): unknown {
  const pool: unknown[] = [
    veraDoc,
    wendy.quote.documentId,
    fredDoc,
    parseAutomergeUrl(generateAutomergeUrl()).documentId,
    "not-a-document-id",
    `automerge:${veraDoc}`,
    42,
    "",
  ];
  return pool[index % pool.length];
}

function quoteChanges(owner: string): A.Change[] {
  const doc = A.change(
    A.from(
      createQuote({
        owner: asUserId(owner),
        organization: asOrganizationId("acme"),
        currency: "USD",
      }) as unknown as Record<string, unknown>,
    ),
    (d) => {
      (d as { projectName: string }).projectName = "fuzzed";
    },
  );
  return A.getAllChanges(doc);
}

function syncData(plan: DataPlan, flips: number[]): unknown {
  const encode = (changes: A.Change[], heads: string[] = []) =>
    A.encodeSyncMessage({ heads, need: [], have: [], changes });
  switch (plan) {
    case "emptyRequest":
      return A.generateSyncMessage(A.init(), A.initSyncState())[1];
    case "freshDoc":
      return encode(quoteChanges(flips.length % 2 ? "fred" : "vera"));
    case "corrupted": {
      const bytes = new Uint8Array(encode(quoteChanges("fred")));
      const flip = (at: number, mask: number) => {
        bytes[at % bytes.length] = (bytes[at % bytes.length] ?? 0) ^ mask;
      };
      for (const f of flips) flip(f, 1 << (f % 8));
      if (flips.length === 0) flip(20, 0xff);
      return bytes;
    }
    case "truncated": {
      const bytes = encode(quoteChanges("fred"));
      return bytes.slice(0, (flips[0] ?? 7) % bytes.length);
    }
    case "missingDeps": {
      const changes = quoteChanges("fred");
      return encode(changes.slice(1));
    }
    case "manyHeads":
      return encode(
        [],
        Array.from({ length: 2_000 }, (_, i) => i.toString(16).padStart(64, "0")),
      );
    case "randomBytes":
      return new Uint8Array(flips.map((f) => f % 256));
    case "notBytes":
      return flips.length ? "a string" : { nested: [1, 2, 3] };
    case "big":
      return new Uint8Array(1_500_000 + (flips[0] ?? 0));
  }
}

function materialize(op: Op, self: string, relayPeer: string): Uint8Array {
  const who = (w: Who) =>
    w === "self"
      ? self
      : w === "relay"
        ? relayPeer
        : w === "other"
          ? "oms-client-someone-else"
          : `r-${Math.random()}`;
  switch (op.kind) {
    case "bytes":
      return op.bytes;
    case "cbor":
      return cbor.encode(op.value);
    case "join":
      return cbor.encode({
        type: "join",
        senderId: who(op.sender),
        peerMetadata: op.metadata,
        supportedProtocolVersions: ["1"],
      });
    case "message":
      return cbor.encode({
        type: op.type,
        senderId: who(op.sender),
        targetId: who(op.target),
        documentId: documentIdFor(op.doc),
        data: syncData(op.data, op.flips),
        sessionId: "s",
        count: 1,
        ...op.extra,
      });
  }
}

// ---- what must hold after each case ------------------------------------------------------------

async function alive(): Promise<void> {
  const health = await fetch(`${relay.httpUrl}/healthz`).catch(async (err) => {
    const exited = await Promise.race([
      relay.exited,
      new Promise((r) => setTimeout(() => r(undefined), 500)),
    ]);
    throw new Error(
      `the relay did not answer /healthz (${err}); exit: ${JSON.stringify(exited)}; last output:\n${relay.output().slice(-4_000)}`,
    );
  });
  expect(health.status).toBe(200);
}

async function wellBehavedClientSyncs(): Promise<void> {
  wendy.quote.change((q) => {
    q.notes = `edit ${stats.cases}`;
  });
  await waitStored(wendy.repo, wendy.quote as DocHandle<unknown>, wendy.relayPeer);
  stats.wellBehavedSyncs++;
}

function nothingLeaked(peer: RawPeer, raw: Buffer[]): void {
  const forbidden = new Set([veraDoc, wendy.quote.documentId]);
  for (const m of peer.received) {
    if (typeof m.documentId === "string" && forbidden.has(m.documentId as never))
      expect(
        m.type,
        `the relay sent fred a ${String(m.type)} about a document he may not read`,
      ).toBe("doc-unavailable");
  }
  for (const bytes of raw) expect(bytes.includes(SECRET_MARK)).toBe(false);
}

describe("the relay under a protocol fuzzer", () => {
  it(`stays up, keeps serving a well-behaved client and leaks nothing (${runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 15 }), async (ops) => {
        stats.cases++;
        const fredToken = await token("fred");
        const peers: { peer: RawPeer; raw: Buffer[] }[] = [];
        const connect = async () => {
          const peer = await RawPeer.connect(relay.url, fredToken);
          const raw: Buffer[] = [];
          peer.ws.on("message", (d) => raw.push(Buffer.from(d as Buffer)));
          peers.push({ peer, raw });
          return { peer, relayPeer: await peer.join() };
        };
        let { peer, relayPeer } = await connect();
        for (const op of ops) {
          // A connection the relay closed (bad CBOR, say) is replaced: the case goes on.
          if (peer.ws.readyState !== peer.ws.OPEN) {
            stats.closedByRelay++;
            ({ peer, relayPeer } = await connect());
          }
          const bytes = materialize(op, peer.peerId, relayPeer);
          stats.messages++;
          stats.bytes += bytes.byteLength;
          peer.sendBytes(bytes);
          // Room for the relay to answer, or to close the socket, before the next message.
          await new Promise((r) => setTimeout(r, 2));
        }
        // Let the relay answer what it will.
        await new Promise((r) => setTimeout(r, 30));
        for (const p of peers) p.peer.close();
        await alive();
        await wellBehavedClientSyncs();
        for (const p of peers) nothingLeaked(p.peer, p.raw);
      }),
      {
        numRuns: runs,
        endOnFailure: true,
        ...(process.env.OMS_FUZZ_SEED ? { seed: Number(process.env.OMS_FUZZ_SEED) } : {}),
      },
    );
  }, 600_000);

  it("leaves every stored document loadable", async () => {
    relay.child.kill("SIGTERM");
    await relay.exited;
    const db = openDatabase(join(data.dir, "relay.db"));
    const ids = db.prepare<[], { doc_id: string }>("SELECT doc_id FROM documents").all();
    const repo = new Repo({ storage: new SqliteStorageAdapter(db) });
    for (const { doc_id } of ids) {
      const handle = await repo.find(`automerge:${doc_id}` as AutomergeUrl);
      expect(handle.isReady()).toBe(true);
    }
    expect(ids.length).toBeGreaterThanOrEqual(3); // vera's, fred's and wendy's quotes at least
    await repo.shutdown();
    db.close();
    if (process.env.OMS_FUZZ_REPORT)
      writeFileSync(
        process.env.OMS_FUZZ_REPORT,
        `${JSON.stringify({ runs, ...stats, documents: ids.length }, null, 2)}\n`,
      );
    // Restart for afterAll's cleanup to have a process to stop.
    relay = await spawnRelay(data.dir);
  }, 60_000);
});
