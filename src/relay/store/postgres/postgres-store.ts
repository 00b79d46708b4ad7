import { OmsError } from "../../../docs/errors.js";
import { redactUrl } from "../redact.js";
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
import { PgAccessStore } from "./access-store.js";
import { PgCatalogueStore } from "./catalogue-store.js";
import { PgChunkStore } from "./chunk-store.js";
import { createPgDatabase, type PgDatabase, type PgOptions } from "./database.js";
import { migrate } from "./migrations.js";
import { PgHeadsStore, PgMemberStore, PgRegistryStore } from "./registry-store.js";
import { PgRestoreStore } from "./restore-store.js";
import { PgSubmissionStore } from "./submission-store.js";

export interface PostgresStoreOptions extends PgOptions {
  onTiming?: StoreTiming;
}

/**
 * The relay's store on PostgreSQL, shared by every relay node: a connection pool, with the
 * schema migrated at open (see `migrate`). Every guarantee of `RelayStore` holds across nodes.
 */
export class PostgresStore implements RelayStore {
  readonly engine = "postgres" as const;
  readonly chunks: ChunkStore;
  readonly heads: HeadsStore;
  readonly registry: RegistryStore;
  readonly members: MemberStore;
  readonly access: AccessStore;
  readonly submissions: SubmissionStore;
  readonly restore: RestoreStore;
  readonly catalogue: CatalogueStore;
  #closed = false;

  constructor(
    readonly db: PgDatabase,
    onTiming?: StoreTiming,
  ) {
    this.chunks = timed("chunks", new PgChunkStore(db, () => this.#closed), onTiming);
    this.heads = timed("heads", new PgHeadsStore(db), onTiming);
    this.registry = timed("registry", new PgRegistryStore(db), onTiming);
    this.members = timed("members", new PgMemberStore(db), onTiming);
    this.access = timed("access", new PgAccessStore(db), onTiming);
    this.submissions = timed("submissions", new PgSubmissionStore(db), onTiming);
    this.restore = timed("restore", new PgRestoreStore(db), onTiming);
    this.catalogue = timed("catalogue", new PgCatalogueStore(db, () => this.#closed), onTiming);
  }

  /** Connects, applies the migrations not applied yet, and answers the store. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const db = createPgDatabase(url, options);
    try {
      await migrate(db, options.schema ? { schema: options.schema } : {});
    } catch (cause) {
      await db.pool.end().catch(() => undefined);
      throw new OmsError(
        "INTERNAL",
        `cannot open the PostgreSQL store at ${redactUrl(url)}: ${(cause as Error).message}; check that the server answers and that the URL's user may create tables (--database, OMS_DATABASE_URL)`,
        { cause },
      );
    }
    return new PostgresStore(db, options.onTiming);
  }

  async ping(): Promise<void> {
    await this.db.query("SELECT 1");
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.db.pool.end();
  }
}
