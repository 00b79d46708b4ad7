import { join } from "node:path";
import * as A from "@automerge/automerge";
import {
  type DocumentId,
  decodeHeads,
  generateAutomergeUrl,
  parseAutomergeUrl,
  Repo,
  type StorageAdapterInterface,
} from "@automerge/automerge-repo";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import { SqliteStorageAdapter } from "../src/adapters/storage-sqlite.js";
import {
  addLineItem,
  addToMy,
  asDocId,
  asOrganizationId,
  asUserId,
  createOrder,
  createWorkspace,
  type Order,
  setHeader,
} from "../src/docs/index.js";
import { openDatabase } from "../src/relay/database.js";
import { HeadsIndex } from "../src/relay/heads-index.js";
import { DocumentRegistry } from "../src/relay/registry.js";
import { SqliteStore } from "../src/relay/store/sqlite/sqlite-store.js";

export const owner = asUserId("alice");
export const organization = asOrganizationId("acme");

/** Distinct orders to copy from: each stored document is one of these under its own id. */
const TEMPLATES = 50;

/** An order of 20 line items, as the measurements of AUTOMERGE-FACTS.md used. */
function template(i: number): Uint8Array {
  let doc = A.from(
    createOrder({ owner, organization, currency: "USD", now: 1_700_000_000_000 + i }) as never,
  ) as A.Doc<Order>;
  doc = A.change(doc, (o) => {
    setHeader(o, {
      customer: { name: `Customer ${i}`, contact: "555-0100" },
      projectName: `Project ${i}`,
    });
    for (let l = 0; l < 20; l++) {
      addLineItem(o, {
        productCode: `DH-${3000 + l}`,
        description: "Double hung window",
        options: { color: "white", glazing: "double" },
        quantity: 1 + (l % 5),
        unitPrice: 45_900 + l * 100,
      });
    }
  });
  return A.save(doc);
}

let made: { templates: Uint8Array[]; heads: string[][] } | undefined;
/** The templates and their heads, made once per process (a second or more of CPU each time). */
function templatesOnce(): { templates: Uint8Array[]; heads: string[][] } {
  if (!made) {
    const templates = Array.from({ length: TEMPLATES }, (_, i) => template(i));
    made = { templates, heads: templates.map((bytes) => A.getHeads(A.load(bytes))) };
  }
  return made;
}

/**
 * Writes N orders straight into a storage adapter, as automerge-repo stores a snapshot: seeding
 * 10,000 documents takes seconds, not minutes.
 */
export async function fill(
  storage: StorageAdapterInterface,
  n: number,
  onStored?: (id: DocumentId, heads: string[]) => Promise<void>,
  concurrency = 1,
): Promise<DocumentId[]> {
  const { templates, heads } = templatesOnce();
  const ids = Array.from({ length: n }, () => parseAutomergeUrl(generateAutomergeUrl()).documentId);
  const store = async (id: DocumentId, i: number) => {
    const bytes = templates[i % TEMPLATES] as Uint8Array;
    await storage.save([id, "snapshot", `seed${i % TEMPLATES}`], bytes);
    await onStored?.(id, heads[i % TEMPLATES] as string[]);
  };
  for (let i = 0; i < n; i += concurrency)
    await Promise.all(ids.slice(i, i + concurrency).map((id, j) => store(id, i + j)));
  return ids;
}

/** N orders in a stock relay's NodeFS folder (a file and a folder each: written 32 at a time). */
export async function seedStock(dir: string, n: number): Promise<DocumentId[]> {
  return fill(new NodeFSStorageAdapter(dir), n, undefined, 32);
}

/**
 * N orders in an oms-sync relay's database, registered to alice; the first `inMy` of them (all by
 * default) listed in her workspace, so that a device of hers syncs them.
 */
export async function seedOms(dir: string, n: number, inMy = n): Promise<DocumentId[]> {
  const db = openDatabase(join(dir, "relay.db"));
  const store = new SqliteStore(db);
  const registry = new DocumentRegistry(store.registry);
  const storage = new SqliteStorageAdapter(db);
  // The relay records each document's heads as it stores it; seeding does the same.
  const index = new HeadsIndex(store.heads);
  // Each save and record commits inside its call: one transaction around them all, not 2 N.
  db.exec("BEGIN");
  const ids = await fill(storage, n, async (id, heads) => {
    await index.record(id, heads);
  });
  db.exec("COMMIT");
  // The SQLite store writes inside each call: the transaction holds them all.
  db.transaction(() => {
    for (const id of ids) void registry.register(id, { kind: "order", owner, organization });
  })();
  const repo = new Repo({ storage });
  const workspace = repo.create(createWorkspace({ owner, organization }));
  workspace.change((w) => {
    for (const id of ids.slice(0, inMy)) addToMy(w, asDocId(id), "order", 1);
  });
  await repo.flush([workspace.documentId]);
  await index.record(workspace.documentId, decodeHeads(workspace.heads()));
  await registry.registerUserDocument(workspace.documentId, {
    kind: "workspace",
    owner,
    organization,
  });
  await repo.shutdown();
  db.close();
  return ids;
}
