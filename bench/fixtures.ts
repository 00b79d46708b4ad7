import { join } from "node:path";
import { type DocumentId, Repo } from "@automerge/automerge-repo";
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
  setHeader,
} from "../src/docs/index.js";
import { openDatabase } from "../src/relay/database.js";
import { DocumentRegistry } from "../src/relay/registry.js";

export const owner = asUserId("alice");
export const organization = asOrganizationId("acme");

/** An order of 20 line items, as the measurements of AUTOMERGE-FACTS.md used. */
function order(repo: Repo, i: number): DocumentId {
  const handle = repo.create(
    createOrder({ owner, organization, currency: "USD", now: 1_700_000_000_000 + i }),
  );
  handle.change((o) => {
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
  return handle.documentId;
}

async function fill(repo: Repo, n: number): Promise<DocumentId[]> {
  const ids: DocumentId[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(order(repo, i));
    if (ids.length % 200 === 0) await repo.flush(ids.slice(-200));
  }
  await repo.flush(ids);
  return ids;
}

/** N orders in a stock relay's NodeFS folder. */
export async function seedStock(dir: string, n: number): Promise<DocumentId[]> {
  const repo = new Repo({ storage: new NodeFSStorageAdapter(dir) });
  const ids = await fill(repo, n);
  await repo.shutdown();
  return ids;
}

/** N orders in an oms-sync relay's database, registered and listed in alice's workspace. */
export async function seedOms(dir: string, n: number): Promise<DocumentId[]> {
  const db = openDatabase(join(dir, "relay.db"));
  const registry = new DocumentRegistry(db);
  const repo = new Repo({ storage: new SqliteStorageAdapter(db) });
  const ids = await fill(repo, n);
  for (const id of ids) registry.register(id, { kind: "order", owner, organization });
  const workspace = repo.create(createWorkspace({ owner, organization }));
  workspace.change((w) => {
    for (const id of ids) addToMy(w, asDocId(id), "order", 1);
  });
  await repo.flush([workspace.documentId]);
  registry.registerUserDocument(workspace.documentId, { kind: "workspace", owner, organization });
  await repo.shutdown();
  db.close();
  return ids;
}
