import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo/slim";
import { OmsError } from "../docs/errors.js";
import type { DocId, MessageId, OrganizationId, UserId } from "../docs/ids.js";
import { postMessage } from "../docs/inbox.js";
import type { Inbox, InboxMessage, Workspace } from "../docs/types.js";
import { addToMy, removeFromMy } from "../docs/workspace.js";
import { hasRole, type Principal, parsePrincipal, roles } from "../policy/principal.js";
import type { DocumentWriter } from "./cluster/cluster.js";
import { type MemberDirectory, memberKey } from "./members.js";
import type { DocumentRegistry } from "./registry.js";
import type { SessionService } from "./session.js";
import type { AccessStore } from "./store/types.js";

/** Who performs an admin action: an admin's principal, or the operator through `createRelay`. */
export type AdminActor = Principal | "operator";

/** Why a user lost access to a document they could read before. */
export interface LostAccess {
  readonly reason: string;
  /** The document's heads (Automerge hex) when access was lost: what that user may have seen. */
  readonly heads: readonly string[];
  readonly at: number;
}

export interface Reassignment {
  readonly documentId: string;
  readonly previousOwner: string | null;
  readonly owner: string;
  readonly changed: boolean;
}

/** A user as the relay knows them: the same user id in two organizations is two users. */
export interface MemberRef {
  readonly organization: string;
  readonly userId: string;
}

export interface Revocation {
  readonly userId: string;
  readonly organization: string;
  readonly revokedBy: string;
  readonly reason: string;
  readonly revokedAt: number;
}

export interface AdminServiceOptions {
  store: AccessStore;
  repo: Repo;
  registry: DocumentRegistry;
  sessions: SessionService;
  members: MemberDirectory;
  /** Closes every open socket of a user (revocation takes effect at once). */
  disconnectUser(member: MemberRef, reason: string): void;
  /** Told after every action, for logs and metrics. */
  onAction?(action: "reassign" | "revoke" | "reinstate", detail: Record<string, unknown>): void;
  /**
   * Told as soon as a reassignment is committed, before the workspaces and inbox are written:
   * other relay nodes stop serving the previous owner on this (their window is what it waits).
   */
  onOwnerChanged?(documentId: string, organization: string): void;
  /** Writes inboxes and workspaces as their one writer across relay nodes; default `change`. */
  write?: DocumentWriter;
}

const reassignable = new Set(["quote", "order", "assistance"]);

/**
 * What an organization's admin may do to the relay's data: give a document to another owner, and
 * revoke (or reinstate) a user. Each takes effect at once: the registry decides every message,
 * so connected peers see the new rules with their next message, and nothing more is sent to a
 * peer that lost access.
 */
export class AdminService {
  readonly #o: AdminServiceOptions;
  /** By `memberKey(organization, userId)`. */
  readonly #revoked = new Map<string, Revocation>();
  /** Refusal notices posted since start, so the inbox is not loaded for every refused message. */
  readonly #refusalsPosted = new Set<string>();

  constructor(options: AdminServiceOptions) {
    this.#o = options;
  }

  /**
   * Reads the revocations from the store. Revocations are few and asked about on every
   * connection: kept in memory, read at start and again whenever another node may have changed
   * them. Answers the users revoked since the last read (their sockets are to be closed).
   */
  async loadRevocations(): Promise<MemberRef[]> {
    const rows = await this.#o.store.revocations();
    const fresh = new Map(rows.map((r) => [memberKey(r.organization, r.userId), r]));
    const added = [...fresh].filter(([key]) => !this.#revoked.has(key)).map(([, r]) => r);
    this.#revoked.clear();
    for (const [key, r] of fresh) this.#revoked.set(key, r);
    return added.map((r) => ({ organization: r.organization, userId: r.userId }));
  }

  /** The revocation of this user of this organization, if revoked. */
  revocation(organization: string, userId: string): Revocation | undefined {
    return this.#revoked.get(memberKey(organization, userId));
  }

  revokedUsers(organization?: string): Revocation[] {
    return [...this.#revoked.values()].filter(
      (r) => organization === undefined || r.organization === organization,
    );
  }

  /**
   * Why this user lost access to this document, if they had it once. Only a user of the
   * document's organization ever had it: the same id elsewhere is someone else.
   */
  async lostAccess(
    documentId: string,
    organization: string,
    userId: string,
  ): Promise<LostAccess | undefined> {
    if ((await this.#o.registry.get(documentId))?.organization !== organization) return undefined;
    return this.#o.store.lostAccess(documentId, userId);
  }

  /**
   * Gives a quote, order or assistance request to another user of its organization: the registry
   * and the document's `owner` change, the document leaves the previous owner's "My" and enters
   * the new owner's. The previous owner's later changes are refused with ACCESS_REVOKED.
   */
  async reassign(
    actor: AdminActor,
    documentId: string,
    newOwner: string,
    reason = "reassigned by an admin",
  ): Promise<Reassignment> {
    const owner = checkedUserId(newOwner);
    const meta = await this.#o.registry.get(documentId);
    if (!meta || (actor !== "operator" && meta.organization !== actor.organization)) {
      throw new OmsError(
        "NOT_FOUND",
        `no document ${documentId} in your organization; check the id (automerge URLs work without the "automerge:" prefix)`,
      );
    }
    if (!reassignable.has(meta.kind)) {
      throw new OmsError(
        "CONFLICT",
        `a ${meta.kind} document belongs to its user or organization and cannot be reassigned; only quotes, orders and assistance requests can`,
      );
    }
    // An admin may name only someone the relay has seen in the document's organization; any
    // other id (another organization's user, a typo) gets the same answer whether or not it
    // exists anywhere. The operator may name anyone: the owner is that id in the document's
    // organization, whose workspace is its own (keyed by organization and user).
    if (actor !== "operator" && !(await this.#o.members.isMember(meta.organization, owner))) {
      throw new OmsError(
        "NOT_FOUND",
        `no user ${owner} in the document's organization; a user becomes known when they first sign in`,
      );
    }
    const previous = meta.owner ?? null;
    if (previous === owner) return { documentId, previousOwner: previous, owner, changed: false };

    const handle = await this.#o.repo.find<{ owner: string }>(documentId as DocumentId);
    const headsBefore = A.getHeads(handle.doc() as A.Doc<unknown>);
    const now = Date.now();
    // The registry first: from here on nothing of this document goes to the previous owner from
    // this node, nor from the others once the notice below reaches them.
    await this.#o.store.reassign(
      documentId,
      owner,
      previous ? { userId: previous, reason, heads: headsBefore, at: now } : undefined,
    );
    await this.#o.registry.refresh(documentId);
    this.#o.onOwnerChanged?.(documentId, meta.organization);
    handle.change((d) => {
      d.owner = owner;
    });
    const kind = meta.kind as "quote" | "order" | "assistance";
    const workspaces: string[] = [documentId];
    if (previous) {
      workspaces.push(
        await this.#editWorkspace(previous, meta.organization, (w) =>
          removeFromMy(w, documentId as DocId),
        ),
      );
    }
    workspaces.push(
      await this.#editWorkspace(owner, meta.organization, (w) =>
        addToMy(w, documentId as DocId, kind, now),
      ),
    );
    if (previous) {
      // Keyed by the time access was lost (stored with it): a retried reassignment posts nothing new.
      workspaces.push(
        await this.#post(previous, meta.organization, `reassigned-${documentId}-${now}`, {
          at: now,
          subject: `Your ${kind} was given to ${owner}`,
          body: `An admin gave this ${kind} to ${owner} (${reason}). Changes you make to it from now on are not stored, and edits your device had not synced before are kept on your device only: open the quarantine (client.quarantine), export them and pass them on to ${owner}.`,
          ref: { kind, id: documentId as DocId },
        }),
      );
    }
    await this.#o.repo.flush(workspaces as DocumentId[]);
    this.#o.repo.shareConfigChanged();
    this.#o.onAction?.("reassign", { documentId, previousOwner: previous, owner, by: who(actor) });
    return { documentId, previousOwner: previous, owner, changed: true };
  }

  /**
   * Tells a user who lost access to a document that the relay refused their changes to it:
   * once per loss of access (the message id is the document and the time access was lost), so
   * a device that offers its changes again and again gets one message, not one per attempt.
   */
  async noticeRefused(documentId: string, organization: string, userId: string): Promise<void> {
    const lost = await this.lostAccess(documentId, organization, userId);
    const meta = await this.#o.registry.get(documentId);
    if (!lost || !meta || !reassignable.has(meta.kind)) return;
    const key = `refused-${documentId}-${lost.at}`;
    const seen = `${memberKey(organization, userId)} ${key}`;
    if (this.#refusalsPosted.has(seen)) return;
    this.#refusalsPosted.add(seen);
    const kind = meta.kind as "quote" | "order" | "assistance";
    const inbox = await this.#post(userId, organization, key, {
      at: Date.now(),
      subject: `Your changes to a ${kind} were not stored`,
      body: `The relay refused your changes to this ${kind}: you no longer have access to it (${lost.reason} on ${new Date(lost.at).toISOString()}). Your device kept them in its quarantine (client.quarantine): export them there and pass them on to the ${kind}'s new owner.`,
      ref: { kind, id: documentId as DocId },
    });
    await this.#o.repo.flush([inbox as DocumentId]);
  }

  async #post(
    userId: string,
    organization: string,
    id: string,
    message: InboxMessage,
  ): Promise<string> {
    const inboxId = await this.#o.sessions.userDocument(userId, organization, "inbox");
    const handle = await this.#o.repo.find<Inbox>(inboxId as DocumentId);
    await this.#write(handle, (d) => {
      // Read inside the write: on a node among several, after the inbox is brought up to date.
      if (!Object.hasOwn(d.messages, id)) postMessage(d, id as MessageId, message);
    });
    return inboxId;
  }

  async #editWorkspace(
    userId: string,
    organization: string,
    edit: (w: Workspace) => void,
  ): Promise<string> {
    const id = await this.#o.sessions.userDocument(userId, organization, "workspace");
    const handle = await this.#o.repo.find<Workspace>(id as DocumentId);
    await this.#write(handle, edit);
    return id;
  }

  async #write<T>(handle: DocHandle<T>, edit: (doc: T) => void): Promise<void> {
    if (this.#o.write) await this.#o.write(handle, edit);
    else handle.change(edit as never);
  }

  /**
   * Revokes a user: their open connections close at once (code 4003), and every later
   * connection and session request is refused with 403 USER_REVOKED until reinstated. Their
   * documents stay, and stay readable by their managers. A bad actor or member throws at once;
   * the revocation is in effect when the promise resolves.
   */
  revoke(
    actor: AdminActor,
    member: MemberRef,
    reason = "revoked by an admin",
  ): Promise<Revocation> {
    const target = this.#target(actor, member);
    return this.#revoke(actor, target, reason);
  }

  async #revoke(
    actor: AdminActor,
    { organization, userId: user }: { organization: string; userId: UserId },
    reason: string,
  ): Promise<Revocation> {
    const revocation: Revocation = {
      userId: user,
      organization,
      revokedBy: who(actor),
      reason,
      revokedAt: Date.now(),
    };
    await this.#o.store.revoke(revocation);
    this.#revoked.set(memberKey(organization, user), revocation);
    this.#o.disconnectUser({ organization, userId: user }, reason);
    this.#o.repo.shareConfigChanged();
    this.#o.onAction?.("revoke", { organization, userId: user, by: revocation.revokedBy });
    return revocation;
  }

  /**
   * Lifts a revocation; false when this user of this organization was not revoked (an admin
   * asking about another organization's user gets false too, whatever that user's state).
   */
  reinstate(actor: AdminActor, member: MemberRef): Promise<boolean> {
    const target = this.#target(actor, member);
    return this.#reinstate(actor, target);
  }

  async #reinstate(
    actor: AdminActor,
    { organization, userId }: { organization: string; userId: UserId },
  ): Promise<boolean> {
    const key = memberKey(organization, userId);
    const lifted = await this.#o.store.reinstate(organization, userId);
    this.#revoked.delete(key);
    if (!lifted) return false;
    this.#o.onAction?.("reinstate", { organization, userId, by: who(actor) });
    return true;
  }

  /**
   * The user an action is about. An admin names users of their own organization only; the
   * operator names the organization. Revoking an id nobody used yet is allowed: it only ever
   * concerns that id in that organization, so it reveals and affects nothing elsewhere.
   */
  #target(actor: AdminActor, member: MemberRef): { organization: string; userId: UserId } {
    const userId = checkedUserId(member.userId);
    const organization = checkedOrganizationId(member.organization);
    if (actor !== "operator" && organization !== actor.organization) {
      throw new OmsError(
        "FORBIDDEN",
        `${actor.userId} is an admin of ${actor.organization} and may act on its users only`,
      );
    }
    return { organization, userId };
  }
}

/** What a revoked user is told, wherever the relay refuses them. */
export function revokedMessage(revocation: Revocation): string {
  return `${revocation.userId} was revoked (${revocation.reason}); ask an admin to reinstate the user`;
}

/** Only an admin, and only in their organization. */
export function assertAdmin(principal: Principal): void {
  if (!hasRole(principal, roles.admin)) {
    throw new OmsError(
      "FORBIDDEN",
      `${principal.userId} lacks the "${roles.admin}" role the admin API requires; use an admin's token`,
    );
  }
}

function checkedUserId(userId: string): UserId {
  try {
    return parsePrincipal({ sub: userId, org: "x", roles: [], offline: false }).userId;
  } catch {
    throw new OmsError(
      "INVALID_INPUT",
      `${JSON.stringify(String(userId).slice(0, 210))} is not a user id: use 1 to 200 of A-Z a-z 0-9 . _ @ : - (not __proto__, constructor or prototype)`,
    );
  }
}

function checkedOrganizationId(organization: string): OrganizationId {
  try {
    return parsePrincipal({ sub: "x", org: organization, roles: [], offline: false }).organization;
  } catch {
    throw new OmsError(
      "INVALID_INPUT",
      `${JSON.stringify(String(organization).slice(0, 210))} is not an organization id: use 1 to 200 of A-Z a-z 0-9 . _ @ : -`,
    );
  }
}

function who(actor: AdminActor): string {
  return actor === "operator" ? "operator" : actor.userId;
}
