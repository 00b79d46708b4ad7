import type { RelayDatabase } from "../../database.js";
import type { AccessStore, LostAccessRow, RevocationRow } from "../types.js";

/** Revocations and lost access on SQLite (tables `revoked_members`, `lost_access`). */
export class SqliteAccessStore implements AccessStore {
  readonly #db: RelayDatabase;
  readonly #lost;
  readonly #recordLoss;
  readonly #forgetLoss;
  readonly #setOwner;
  readonly #insertRevocation;
  readonly #deleteRevocation;
  readonly #revocations;

  constructor(db: RelayDatabase) {
    this.#db = db;
    this.#lost = db.prepare<[string, string], { reason: string; heads: string; at: number }>(
      "SELECT reason, heads, at FROM lost_access WHERE doc_id = ? AND user_id = ?",
    );
    this.#recordLoss = db.prepare(
      "INSERT OR REPLACE INTO lost_access (doc_id, user_id, reason, heads, at) VALUES (?, ?, ?, ?, ?)",
    );
    this.#forgetLoss = db.prepare("DELETE FROM lost_access WHERE doc_id = ? AND user_id = ?");
    this.#setOwner = db.prepare("UPDATE documents SET owner = ? WHERE doc_id = ?");
    this.#insertRevocation = db.prepare(
      "INSERT OR REPLACE INTO revoked_members (organization, user_id, revoked_by, reason, revoked_at) VALUES (?, ?, ?, ?, ?)",
    );
    this.#deleteRevocation = db.prepare(
      "DELETE FROM revoked_members WHERE organization = ? AND user_id = ?",
    );
    this.#revocations = db.prepare<[], Record<string, string | number>>(
      "SELECT * FROM revoked_members",
    );
  }

  async revocations(): Promise<RevocationRow[]> {
    return this.#revocations.all().map((row) => ({
      userId: String(row.user_id),
      organization: String(row.organization),
      revokedBy: String(row.revoked_by),
      reason: String(row.reason),
      revokedAt: Number(row.revoked_at),
    }));
  }

  async revoke(r: RevocationRow): Promise<void> {
    this.#insertRevocation.run(r.organization, r.userId, r.revokedBy, r.reason, r.revokedAt);
  }

  async reinstate(organization: string, userId: string): Promise<boolean> {
    return this.#deleteRevocation.run(organization, userId).changes > 0;
  }

  async lostAccess(documentId: string, userId: string): Promise<LostAccessRow | undefined> {
    const row = this.#lost.get(documentId, userId);
    return row ? { reason: row.reason, heads: JSON.parse(row.heads), at: row.at } : undefined;
  }

  async reassign(
    documentId: string,
    owner: string,
    loss?: { userId: string } & LostAccessRow,
  ): Promise<void> {
    this.#db.transaction(() => {
      this.#setOwner.run(owner, documentId);
      if (loss)
        this.#recordLoss.run(
          documentId,
          loss.userId,
          loss.reason,
          JSON.stringify(loss.heads),
          loss.at,
        );
      this.#forgetLoss.run(documentId, owner);
    })();
  }
}
