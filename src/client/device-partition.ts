import type { StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";
import { decodeJwt } from "jose";
import { FileStorageAdapter } from "../adapters/storage-file.js";
import { DeviceIndexedDbStorageAdapter } from "../adapters/storage-indexeddb.js";
import { MemoryStorageAdapter } from "../adapters/storage-memory.js";
import { PrefixedStorageAdapter } from "../adapters/storage-prefixed.js";
import { OmsError } from "../docs/errors.js";
import { type Principal, parsePrincipal } from "../policy/principal.js";
import type { SessionResponse } from "./session.js";

/** Where the device keeps documents. `{ indexedDb: name }` names the database's base name. */
export type StorageOption =
  | "indexeddb"
  | "memory"
  | { indexedDb: string }
  | { folder: string }
  | StorageAdapterInterface;

/** The default IndexedDB base name; before partitions it was the one shared database. */
export const DEFAULT_DATABASE = "oms-sync";

/** The first key part of a partition in a shared adapter or folder: no document id has a "-". */
export const PARTITION_MARKER = "oms-partition";

/** Where the cached session lives in a partition (and lived in the old shared storage). */
const SESSION_KEY: StorageKey = ["oms-sync", "session"];

/**
 * Who a token says its holder is, read without checking its signature: the device may have no
 * connection to ask the relay, and holds no key to check it with. It picks the partition a client
 * opens; it grants nothing the relay would not (the relay checks every token it is shown).
 */
export function tokenPrincipal(token: string): Principal {
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(token) as Record<string, unknown>;
  } catch (cause) {
    throw new OmsError(
      "AUTH_REQUIRED",
      "the token is not a JWT: get a new token from the identity provider",
      { cause },
    );
  }
  return parsePrincipal(claims);
}

/** True when the cached session is this token's holder's (same user in the same organization). */
export function sessionMatches(session: SessionResponse, principal: Principal): boolean {
  return (
    session.user.userId === principal.userId && session.user.organization === principal.organization
  );
}

/** The IndexedDB database of one user: `base:org:user`, each part URI-encoded (no ":" inside). */
export function partitionDatabaseName(base: string, principal: Principal): string {
  return `${base}:${encodeURIComponent(principal.organization)}:${encodeURIComponent(principal.userId)}`;
}

/**
 * Opens the storage of one user on this device: an IndexedDB database of their own, a subfolder
 * of their own, or a prefix of their own in an adapter the caller passed. Data that the client
 * kept before partitions existed (one shared database, folder or adapter) moves into the
 * partition of the user its cached session names, on that user's first start; nobody else's
 * start reads it.
 */
export async function openPartition(
  option: StorageOption | undefined,
  principal: Principal,
): Promise<StorageAdapterInterface> {
  const hasIndexedDb = typeof globalThis.indexedDB !== "undefined";
  if (option === "memory" || (option === undefined && !hasIndexedDb))
    return new MemoryStorageAdapter();
  if (option === undefined || option === "indexeddb" || "indexedDb" in option) {
    const base = typeof option === "object" ? option.indexedDb : DEFAULT_DATABASE;
    const own = new DeviceIndexedDbStorageAdapter(partitionDatabaseName(base, principal));
    await migrateIndexedDb(base, own, principal);
    return own;
  }
  const shared = "folder" in option ? await openFolder(option.folder) : option;
  const prefix = [PARTITION_MARKER, principal.organization, principal.userId];
  const own = new PrefixedStorageAdapter(shared, prefix);
  await migrateShared(shared, own, principal);
  return own;
}

/** A folder storage, rid first of the temporary files a killed process left in it. */
async function openFolder(folder: string): Promise<FileStorageAdapter> {
  const storage = new FileStorageAdapter(folder);
  await storage.open();
  return storage;
}

async function ownedBy(storage: StorageAdapterInterface, principal: Principal): Promise<boolean> {
  const bytes = await storage.load(SESSION_KEY);
  if (!bytes) return false;
  try {
    return sessionMatches(
      JSON.parse(new TextDecoder().decode(bytes)) as SessionResponse,
      principal,
    );
  } catch {
    return false;
  }
}

/**
 * Copies chunks into the partition, keeping any it already has: a chunk the partition holds is
 * either the same (document chunks are named by their content) or newer (the client's records),
 * so a migration that stopped halfway and runs again loses nothing.
 */
async function copyInto(
  target: StorageAdapterInterface,
  chunks: { key: StorageKey; data: Uint8Array | undefined }[],
): Promise<void> {
  for (const { key, data } of chunks) {
    if (data && !(await target.load(key))) await target.save(key, data);
  }
}

/** The old shared database `base`: moved whole into its owner's database, then deleted. */
async function migrateIndexedDb(
  base: string,
  own: StorageAdapterInterface,
  principal: Principal,
): Promise<void> {
  const listing = await indexedDB.databases?.().catch(() => undefined);
  if (listing && !listing.some((d) => d.name === base)) return;
  const old = new DeviceIndexedDbStorageAdapter(base);
  try {
    if (!(await ownedBy(old, principal))) {
      // Opening created it when the engine could not list databases: an empty one goes again.
      if (!listing && (await old.loadRange([])).length === 0) {
        await old.close();
        await deleteDatabase(base);
      }
      return;
    }
    await copyInto(own, await old.loadRange([]));
  } finally {
    await old.close();
  }
  await deleteDatabase(base);
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    // Another tab still has it open: it goes when that tab closes it.
    request.onblocked = () => resolve();
  });
}

/** The old unpartitioned keys of a folder or adapter: moved into their owner's prefix. */
async function migrateShared(
  shared: StorageAdapterInterface,
  own: StorageAdapterInterface,
  principal: Principal,
): Promise<void> {
  if (!(await ownedBy(shared, principal))) return;
  const old = (await shared.loadRange([])).filter((c) => c.key[0] !== PARTITION_MARKER);
  await copyInto(own, old);
  // Whole groups (a folder each with the file adapter); the client's records, with the session,
  // go last: until then a rerun still knows whose the rest is.
  const records = SESSION_KEY[0] as string;
  for (const group of new Set(old.map((c) => c.key[0] as string)))
    if (group !== records) await shared.removeRange([group]);
  await shared.removeRange([records]);
}
