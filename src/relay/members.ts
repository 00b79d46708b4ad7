import type { Principal } from "../policy/principal.js";
import type { RelayDatabase } from "./database.js";

/**
 * The users the relay knows in each organization: everyone whose valid token it has seen. An
 * admin may give a document only to a known member of the document's organization, so a typo,
 * a user of another organization or a made-up id is refused.
 */
export class MemberDirectory {
  readonly #insert;
  readonly #get;
  /** Members already written: a token seen on every request costs no write after the first. */
  readonly #seen = new Set<string>();

  constructor(db: RelayDatabase) {
    this.#insert = db.prepare(
      "INSERT OR IGNORE INTO members (organization, user_id, first_seen) VALUES (?, ?, ?)",
    );
    this.#get = db.prepare<[string, string], { user_id: string }>(
      "SELECT user_id FROM members WHERE organization = ? AND user_id = ?",
    );
  }

  /** Records the holder of a verified token as a member of its organization. */
  saw(principal: Pick<Principal, "organization" | "userId">, now = Date.now()): void {
    const key = memberKey(principal.organization, principal.userId);
    if (this.#seen.has(key)) return;
    this.#insert.run(principal.organization, principal.userId, now);
    this.#seen.add(key);
  }

  isMember(organization: string, userId: string): boolean {
    return (
      this.#seen.has(memberKey(organization, userId)) ||
      this.#get.get(organization, userId) !== undefined
    );
  }
}

/** One string per (organization, user) that no two pairs share, for maps and locks. */
export function memberKey(organization: string, userId: string): string {
  return JSON.stringify([organization, userId]);
}
