import type { Principal } from "../policy/principal.js";
import type { MemberStore } from "./store/types.js";

/**
 * The users the relay knows in each organization: everyone whose valid token it has seen. An
 * admin may give a document only to a known member of the document's organization, so a typo,
 * a user of another organization or a made-up id is refused.
 */
export class MemberDirectory {
  readonly #store: MemberStore;
  /** Members already written: a token seen on every request costs no write after the first. */
  readonly #seen = new Set<string>();

  constructor(store: MemberStore) {
    this.#store = store;
  }

  /** Records the holder of a verified token as a member of its organization. */
  async saw(
    principal: Pick<Principal, "organization" | "userId">,
    now = Date.now(),
  ): Promise<void> {
    const key = memberKey(principal.organization, principal.userId);
    if (this.#seen.has(key)) return;
    await this.#store.saw(principal.organization, principal.userId, now);
    this.#seen.add(key);
  }

  async isMember(organization: string, userId: string): Promise<boolean> {
    return (
      this.#seen.has(memberKey(organization, userId)) ||
      (await this.#store.isMember(organization, userId))
    );
  }
}

/** One string per (organization, user) that no two pairs share, for maps and locks. */
export function memberKey(organization: string, userId: string): string {
  return JSON.stringify([organization, userId]);
}
