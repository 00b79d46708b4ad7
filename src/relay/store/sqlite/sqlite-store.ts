import { SqliteStorageAdapter } from "../../../adapters/storage-sqlite.js";
import type { DocumentMeta } from "../../../docs/kinds.js";
import { openDatabase, type RelayDatabase } from "../../database.js";
import { timed } from "../timed.js";
import type {
  AccessStore,
  CatalogueStore,
  ChunkStore,
  HeadsStore,
  MemberStore,
  RegistryStore,
  RelayStore,
  RestoreStore,
  StoreTiming,
  SubmissionStore,
} from "../types.js";
import { SqliteAccessStore } from "./access-store.js";
import { SqliteCatalogueStore } from "./catalogue-store.js";
import { SqliteHeadsStore, SqliteMemberStore, SqliteRegistryStore } from "./registry-store.js";
import { SqliteRestoreStore } from "./restore-store.js";
import { SqliteSubmissionStore } from "./submission-store.js";

/**
 * The relay's store on an embedded SQLite file (the default). One relay process owns the file:
 * SQLite serializes every transaction, and each call commits before its promise resolves (the
 * work is synchronous inside the call, so a caller that does not await still has it committed).
 */
export class SqliteStore implements RelayStore {
  readonly engine = "sqlite" as const;
  /** The chunk adapter itself (synchronous range reads for the catalogue and bulk export). */
  readonly storage: SqliteStorageAdapter;
  readonly chunks: ChunkStore;
  readonly heads: HeadsStore;
  readonly registry: RegistryStore;
  readonly members: MemberStore;
  readonly access: AccessStore;
  readonly submissions: SubmissionStore;
  readonly restore: RestoreStore;
  readonly catalogue: CatalogueStore;
  readonly #registry: SqliteRegistryStore;

  constructor(
    /** The database: for what is not behind the interface yet (the catalogue, recovery). */
    readonly db: RelayDatabase,
    onTiming?: StoreTiming,
  ) {
    this.storage = new SqliteStorageAdapter(db);
    this.chunks = timed("chunks", this.storage, onTiming);
    this.heads = timed("heads", new SqliteHeadsStore(db), onTiming);
    this.#registry = new SqliteRegistryStore(db);
    this.registry = timed("registry", this.#registry, onTiming);
    this.members = timed("members", new SqliteMemberStore(db), onTiming);
    this.access = timed("access", new SqliteAccessStore(db), onTiming);
    this.submissions = timed("submissions", new SqliteSubmissionStore(db), onTiming);
    this.restore = timed("restore", new SqliteRestoreStore(db), onTiming);
    this.catalogue = timed("catalogue", new SqliteCatalogueStore(db, this.storage), onTiming);
  }

  /** Opens (creating and migrating) the file; ":memory:" for tests. */
  static open(file: string, onTiming?: StoreTiming): SqliteStore {
    return new SqliteStore(openDatabase(file), onTiming);
  }

  /** A document's registry entry, synchronously (the catalogue and the simulation). */
  metaNow(documentId: string): DocumentMeta | undefined {
    return this.#registry.getNow(documentId);
  }

  async ping(): Promise<void> {
    this.db.prepare("SELECT 1").get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
