import type { AccessStore, LostAccessRow, RevocationRow } from "../types.js";
import type { PgDatabase } from "./database.js";

/** Revocations and lost access on PostgreSQL. */
export class PgAccessStore implements AccessStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async revocations(): Promise<RevocationRow[]> {
    const { rows } = await this.#db.query<{
      organization: string;
      user_id: string;
      revoked_by: string;
      reason: string;
      revoked_at: number;
    }>("SELECT organization, user_id, revoked_by, reason, revoked_at FROM revoked_members");
    return rows.map((r) => ({
      organization: r.organization,
      userId: r.user_id,
      revokedBy: r.revoked_by,
      reason: r.reason,
      revokedAt: r.revoked_at,
    }));
  }

  async revoke(r: RevocationRow): Promise<void> {
    await this.#db.query(
      `INSERT INTO revoked_members (organization, user_id, revoked_by, reason, revoked_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (organization, user_id) DO UPDATE SET revoked_by = excluded.revoked_by,
         reason = excluded.reason, revoked_at = excluded.revoked_at`,
      [r.organization, r.userId, r.revokedBy, r.reason, r.revokedAt],
    );
  }

  async reinstate(organization: string, userId: string): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      "DELETE FROM revoked_members WHERE organization = $1 AND user_id = $2",
      [organization, userId],
    );
    return (rowCount ?? 0) > 0;
  }

  async lostAccess(documentId: string, userId: string): Promise<LostAccessRow | undefined> {
    const { rows } = await this.#db.query<{ reason: string; heads: string; at: number }>(
      "SELECT reason, heads, at FROM lost_access WHERE doc_id = $1 AND user_id = $2",
      [documentId, userId],
    );
    const row = rows[0];
    return row ? { reason: row.reason, heads: JSON.parse(row.heads), at: row.at } : undefined;
  }

  async reassign(
    documentId: string,
    owner: string,
    loss?: { userId: string } & LostAccessRow,
  ): Promise<void> {
    await this.#db.tx(async (c) => {
      await c.query("UPDATE documents SET owner = $1 WHERE doc_id = $2", [owner, documentId]);
      if (loss) {
        await c.query(
          `INSERT INTO lost_access (doc_id, user_id, reason, heads, at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (doc_id, user_id) DO UPDATE SET reason = excluded.reason,
             heads = excluded.heads, at = excluded.at`,
          [documentId, loss.userId, loss.reason, JSON.stringify(loss.heads), loss.at],
        );
      }
      await c.query("DELETE FROM lost_access WHERE doc_id = $1 AND user_id = $2", [
        documentId,
        owner,
      ]);
    });
  }
}
