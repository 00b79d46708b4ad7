import * as A from "@automerge/automerge";
import type { DocumentId, Repo } from "@automerge/automerge-repo/slim";
import { sameHeads } from "../docs/heads.js";
import type { OrganizationId, UserId } from "../docs/ids.js";
import { type DocumentMeta, documentMeta } from "../docs/kinds.js";
import type { AccessPolicy } from "../policy/access.js";
import type { Principal } from "../policy/principal.js";
import { type FieldRule, validateWrite, type WriteRefusal } from "../policy/write-validation.js";
import type { DocumentRegistry } from "./registry.js";

export type GateVerdict =
  | { readonly action: "pass" }
  /** Answer doc-unavailable: the document does not exist for this user. */
  | { readonly action: "unavailable" }
  /**
   * Answer the peer with this sync message instead of passing its message on: it offered a
   * document the relay does not have, so the relay asks for all of it. The Repo only ever meets a
   * new document with its whole content (a handle waiting for content that never comes would
   * leave an unhandled rejection in automerge-repo 2.5.6 that stops the process).
   */
  | { readonly action: "answer"; readonly data: Uint8Array }
  /** Drop the message and tell the sender why. */
  | {
      readonly action: "refuse";
      readonly reasons: readonly WriteRefusal[];
      /** The relay's heads the sender may know (Automerge hex), so it can tell what was refused. */
      readonly heads?: readonly string[];
    };

export interface WriteGateOptions {
  repo: Repo;
  registry: DocumentRegistry;
  policy: AccessPolicy;
  fieldRules?: readonly FieldRule[];
  /** How long to wait for the Repo to apply an accepted message before checking the next. */
  settleTimeoutMs: number;
  /** How many offered-but-unregistered documents to remember at most. */
  maxPendingOffers: number;
  /** Told of every accepted change set, before the Repo applies it. */
  onAccepted?: (documentId: string, meta: DocumentMeta, before: unknown, after: unknown) => void;
  /** Why a user who could read a document once no longer may (an admin reassigned it). */
  lostAccess?: (
    documentId: string,
    organization: OrganizationId,
    userId: UserId,
  ) => { reason: string; heads: readonly string[]; at: number } | undefined;
  /** Told when changes of a user who lost access are refused (the relay tells that user). */
  onLostAccessRefused?: (documentId: string, organization: OrganizationId, userId: UserId) => void;
  /** A revoked user reads nothing, even on a socket opened before the revocation. */
  isRevoked?: (organization: OrganizationId, userId: UserId) => boolean;
}

/**
 * Decides, before the Repo sees it, whether a sync or request message may pass: read access for
 * every message, write validation for every message that carries changes.
 *
 * The changes are applied to a clone of the relay's copy and the policy judges the document
 * before and after. Messages for one document are judged one at a time, each only once the Repo
 * holds everything accepted before it: otherwise a change could be judged against a copy that
 * lacks its dependencies, look like a no-op, and pass unchecked. Changes whose dependencies are
 * missing stay queued inside the document, and clones carry that queue, so they are judged
 * together with the change that releases them.
 */
export class WriteGate {
  readonly #o: WriteGateOptions;
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #lastAccepted = new Map<string, A.Heads>();
  /** Unregistered documents a user offered (sent heads of) and may therefore sync: id → users. */
  readonly #offers = new Map<string, Set<string>>();

  constructor(options: WriteGateOptions) {
    this.#o = options;
  }

  /** The document was unloaded: nothing kept about it is needed any more. */
  forget(documentId: string): void {
    if (!this.#locks.has(documentId)) this.#lastAccepted.delete(documentId);
  }

  canRead(principal: Principal, documentId: string): boolean {
    if (this.#o.isRevoked?.(principal.organization, principal.userId)) return false;
    const meta = this.#o.registry.get(documentId);
    if (meta) return this.#o.policy.canRead(principal, meta);
    return this.#offers.get(documentId)?.has(principal.userId) ?? false;
  }

  /**
   * A peer offering a document the relay does not know starts a creation: the Repo may answer it
   * (asking for the changes) and nobody else sees anything until the content passes validation.
   */
  #offer(documentId: string, userId: string): void {
    if (this.#offers.size >= this.#o.maxPendingOffers) {
      const oldest = this.#offers.keys().next().value;
      if (oldest !== undefined) this.#offers.delete(oldest);
    }
    const users = this.#offers.get(documentId) ?? new Set<string>();
    users.add(userId);
    this.#offers.set(documentId, users);
  }

  /** Judges a sync or request message. Never throws: a failure to judge refuses. */
  check(principal: Principal, documentId: string, data: Uint8Array): Promise<GateVerdict> {
    const previous = this.#locks.get(documentId) ?? Promise.resolve();
    const next = previous.then(() => this.#check(principal, documentId as DocumentId, data));
    const settled = next.catch(() => undefined);
    this.#locks.set(documentId, settled);
    void settled.then(() => {
      if (this.#locks.get(documentId) === settled) this.#locks.delete(documentId);
    });
    return next.catch((cause) => ({
      action: "refuse" as const,
      reasons: [
        {
          code: "TRY_LATER" as const,
          message: `the relay could not judge this change set now (${String(cause)}); the next sync sends it again`,
        },
      ],
    }));
  }

  async #check(
    principal: Principal,
    documentId: DocumentId,
    data: Uint8Array,
  ): Promise<GateVerdict> {
    const meta = this.#o.registry.get(documentId);
    if (meta && !this.canRead(principal, documentId)) {
      const lost = this.#o.lostAccess?.(documentId, principal.organization, principal.userId);
      if (!lost || this.#o.isRevoked?.(principal.organization, principal.userId))
        return { action: "unavailable" };
      if (this.#o.onLostAccessRefused && (await this.#offersUnstored(documentId, data)))
        this.#o.onLostAccessRefused(documentId, principal.organization, principal.userId);
      return {
        action: "refuse",
        heads: lost.heads,
        reasons: [
          {
            code: "ACCESS_REVOKED",
            message: `you no longer have access to this document (${lost.reason} on ${new Date(lost.at).toISOString()}); changes you made since were not stored: export them from the quarantine and pass them on to its owner`,
          },
        ],
      };
    }

    let decoded: { changes: unknown[]; heads: unknown[] };
    try {
      decoded = A.decodeSyncMessage(data);
    } catch {
      return malformed("the sync message could not be decoded");
    }
    if (decoded.changes.length === 0) {
      if (meta) return { action: "pass" };
      if (decoded.heads.length === 0) return { action: "unavailable" };
      this.#offer(documentId, principal.userId);
      return askForEverything(data);
    }

    const before = meta ? await this.#relayCopy(documentId) : A.init<unknown>();
    let after: A.Doc<unknown>;
    try {
      [after] = A.receiveSyncMessage(A.clone(before), A.initSyncState(), data);
    } catch {
      return malformed("the changes in the sync message could not be applied");
    }
    const afterHeads = A.getHeads(after);
    if (sameHeads(afterHeads, A.getHeads(before))) {
      // A new document whose changes lack their dependencies: ask for it from the start.
      if (!meta) {
        this.#offer(documentId, principal.userId);
        return askForEverything(data);
      }
      return { action: "pass" };
    }

    const existed = A.getHeads(before).length > 0;
    const decision = validateWrite({
      principal,
      before: existed ? before : undefined,
      after,
      policy: this.#o.policy,
      ...(this.#o.fieldRules ? { fieldRules: this.#o.fieldRules } : {}),
    });
    if (!decision.ok)
      return { action: "refuse", reasons: decision.reasons, heads: A.getHeads(before) };

    const afterMeta = documentMeta(after) as DocumentMeta;
    if (meta && !existed && !sameMeta(meta, afterMeta)) {
      return {
        action: "refuse",
        reasons: [
          {
            code: "WRONG_OWNER",
            message: "this document id is registered to another owner or kind",
          },
        ],
      };
    }
    if (!meta) {
      this.#o.registry.register(documentId, afterMeta);
      this.#offers.delete(documentId);
    }
    this.#lastAccepted.set(documentId, afterHeads);
    this.#o.onAccepted?.(documentId, afterMeta, existed ? before : undefined, after);
    return { action: "pass" };
  }

  /** The relay's copy, once it includes every change accepted before. */
  /**
   * Whether a sync message shows changes the relay does not hold: changes, or heads it lacks
   * (a first sync message carries only heads, and a refused peer never sends its changes).
   */
  async #offersUnstored(documentId: DocumentId, data: Uint8Array): Promise<boolean> {
    try {
      const decoded = A.decodeSyncMessage(data);
      if (decoded.changes.length > 0) return true;
      return !A.hasHeads(await this.#relayCopy(documentId), decoded.heads);
    } catch {
      return false;
    }
  }

  async #relayCopy(documentId: DocumentId): Promise<A.Doc<unknown>> {
    const expected = this.#lastAccepted.get(documentId);
    const deadline = Date.now() + this.#o.settleTimeoutMs;
    const handle =
      this.#o.repo.handles[documentId] ??
      (await this.#o.repo.find(documentId, { allowableStates: ["ready", "unavailable"] }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      handle.whenReady(["ready", "unavailable"]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.#o.settleTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (;;) {
      const doc = handle.isReady() ? handle.doc() : A.init<unknown>();
      if (!expected || A.hasHeads(doc, expected)) {
        if (expected && this.#lastAccepted.get(documentId) === expected)
          this.#lastAccepted.delete(documentId);
        return doc;
      }
      if (Date.now() > deadline) {
        throw new Error(`document ${documentId} did not settle in ${this.#o.settleTimeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
}

/** The relay's reply to an offer of a document it does not have: "send me all of it". */
function askForEverything(offer: Uint8Array): GateVerdict {
  try {
    const [, state] = A.receiveSyncMessage(A.init(), A.initSyncState(), offer);
    const [, reply] = A.generateSyncMessage(A.init(), state);
    return reply ? { action: "answer", data: reply } : { action: "unavailable" };
  } catch {
    return malformed("the sync message could not be applied");
  }
}

function malformed(message: string): GateVerdict {
  return { action: "refuse", reasons: [{ code: "SCHEMA", message }] };
}

function sameMeta(a: DocumentMeta, b: DocumentMeta): boolean {
  return a.kind === b.kind && a.owner === b.owner && a.organization === b.organization;
}
