import * as A from "@automerge/automerge";
import type { DocumentId, Repo } from "@automerge/automerge-repo/slim";
import { sameHeads } from "../docs/heads.js";
import type { OrganizationId, UserId } from "../docs/ids.js";
import { type DocumentMeta, documentMeta } from "../docs/kinds.js";
import type { AccessPolicy } from "../policy/access.js";
import type { Principal } from "../policy/principal.js";
import { type FieldRule, validateWrite, type WriteRefusal } from "../policy/write-validation.js";
import { brokenActorChain } from "./actor-chain-check.js";
import type { IsolatedDocuments } from "./isolated-documents.js";
import { memberKey } from "./members.js";
import type { DocumentRegistry } from "./registry.js";
import { type DecodedSyncMessage, syncMessageProblem } from "./sync-message-check.js";

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
  /**
   * Told of every accepted change set, before the Repo applies it. `after` is a trial copy that
   * is freed when this returns: read what you need synchronously.
   */
  onAccepted?: (
    documentId: string,
    meta: DocumentMeta,
    before: unknown,
    after: unknown,
  ) => void | Promise<void>;
  /** Documents the relay stopped serving after a failure: every message for them is refused. */
  isolated?: IsolatedDocuments;
  /** Counts the trial copies made and freed (memory: a wasm heap never shrinks). */
  onTrialCopy?: (event: "made" | "freed") => void;
  /** Why a user who could read a document once no longer may (an admin reassigned it). */
  lostAccess?: (
    documentId: string,
    organization: OrganizationId,
    userId: UserId,
  ) => Promise<{ reason: string; heads: readonly string[]; at: number } | undefined>;
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

  /**
   * May this principal read this document? Synchronous, from the registry entries loaded so far
   * (a document never loaded is refused): outbound messages are filtered with it. Callers that
   * can wait use `mayRead`.
   */
  canRead(principal: Principal, documentId: string): boolean {
    return this.#canRead(principal, documentId, this.#o.registry.peek(documentId));
  }

  #canRead(principal: Principal, documentId: string, meta: DocumentMeta | undefined): boolean {
    if (this.#o.isRevoked?.(principal.organization, principal.userId)) return false;
    if (meta) return this.#o.policy.canRead(principal, meta);
    return (
      this.#offers.get(documentId)?.has(memberKey(principal.organization, principal.userId)) ??
      false
    );
  }

  /**
   * `canRead` on the document's registry entry as read from the store (or loaded before): the
   * entry read is the one judged, even if the registry drops it meanwhile.
   */
  async mayRead(principal: Principal, documentId: string): Promise<boolean> {
    return this.#canRead(principal, documentId, await this.#o.registry.get(documentId));
  }

  /** `mayRead` for many documents, their registry entries loaded in one round trip. */
  async mayReadAll(principal: Principal, documentIds: readonly string[]): Promise<boolean[]> {
    const metas = await this.#o.registry.getMany(documentIds);
    return documentIds.map((id) => this.#canRead(principal, id, metas.get(id)));
  }

  /**
   * A peer offering a document the relay does not know starts a creation: the Repo may answer it
   * (asking for the changes) and nobody else sees anything until the content passes validation.
   */
  #offer(documentId: string, principal: Principal): void {
    if (this.#offers.size >= this.#o.maxPendingOffers) {
      const oldest = this.#offers.keys().next().value;
      if (oldest !== undefined) this.#offers.delete(oldest);
    }
    const users = this.#offers.get(documentId) ?? new Set<string>();
    // A user is (organization, user id): the same subject in another organization is someone else.
    users.add(memberKey(principal.organization, principal.userId));
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
    const meta = await this.#o.registry.get(documentId);
    if (meta && !this.canRead(principal, documentId)) {
      const lost = await this.#o.lostAccess?.(documentId, principal.organization, principal.userId);
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

    if (this.#o.isolated?.has(documentId)) return isolatedRefusal();

    let decoded: DecodedSyncMessage;
    try {
      decoded = A.decodeSyncMessage(data) as unknown as DecodedSyncMessage;
    } catch {
      return malformed("the sync message could not be decoded");
    }
    const problem = syncMessageProblem(decoded);
    if (problem) return malformed(`the sync message is not one automerge produces: ${problem}`);
    if (decoded.changes.length === 0) {
      if (meta) return this.#rehearseAnswer(documentId, data);
      if (decoded.heads.length === 0) return { action: "unavailable" };
      this.#offer(documentId, principal);
      return this.#askForEverything(data);
    }

    const existing = meta ? await this.#relayCopy(documentId) : undefined;
    const before = existing ?? this.#made(A.init<unknown>());
    // Everything the Repo will do with the message is done first to a copy, freed whatever the
    // verdict: a refused edit's copy would otherwise live until GC, and the wasm heap grows to
    // its peak and never shrinks.
    let copy = this.#made(A.clone(before));
    try {
      try {
        const [after, state] = A.receiveSyncMessage(copy, A.initSyncState(), data);
        copy = after;
        A.generateSyncMessage(after, state);
        // What the Repo stores next. A change whose op ids overlap its actor's previous change
        // applies, then panics every save and every load (docs/security.md, "Gate").
        A.saveSince(after, A.getHeads(before));
      } catch (cause) {
        return malformed(
          `automerge could not apply, answer or store the sync message (${String(cause)})`,
        );
      }
      return await this.#judge(principal, documentId, meta, before, copy, data);
    } finally {
      this.#free(copy);
      if (!existing) this.#free(before);
    }
  }

  /** The verdict on a copy with the changes applied; `after` is freed by the caller. */
  async #judge(
    principal: Principal,
    documentId: DocumentId,
    meta: DocumentMeta | undefined,
    before: A.Doc<unknown>,
    after: A.Doc<unknown>,
    data: Uint8Array,
  ): Promise<GateVerdict> {
    const afterHeads = A.getHeads(after);
    const beforeHeads = A.getHeads(before);
    if (sameHeads(afterHeads, beforeHeads)) {
      // A new document whose changes lack their dependencies: ask for it from the start.
      if (!meta) {
        this.#offer(documentId, principal);
        return this.#askForEverything(data);
      }
      return { action: "pass" };
    }
    const existed = beforeHeads.length > 0;
    const added = decodedChanges(before, after, existed);
    if ("refusal" in added)
      return { action: "refuse", reasons: [added.refusal], heads: beforeHeads };
    const chain = brokenActorChain(before, added.changes);
    if (chain)
      return {
        action: "refuse",
        reasons: [
          {
            code: "MALFORMED_SYNC",
            message: `the sync message is not one automerge produces: ${chain}`,
          },
        ],
        heads: beforeHeads,
      };

    const decision = validateWrite({
      principal,
      before: existed ? before : undefined,
      after,
      policy: this.#o.policy,
      ...(this.#o.fieldRules ? { fieldRules: this.#o.fieldRules } : {}),
    });
    if (!decision.ok) return { action: "refuse", reasons: decision.reasons, heads: beforeHeads };

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
      await this.#o.registry.register(documentId, afterMeta);
      this.#offers.delete(documentId);
    }
    this.#lastAccepted.set(documentId, afterHeads);
    await this.#o.onAccepted?.(documentId, afterMeta, existed ? before : undefined, after);
    return { action: "pass" };
  }

  /**
   * A message without changes is answered by the Repo with `generateSyncMessage`, which reads the
   * message's bloom filters: the answer is generated first, from the relay's copy (generating
   * does not change a document) and the sync state the message leads to.
   */
  async #rehearseAnswer(documentId: DocumentId, data: Uint8Array): Promise<GateVerdict> {
    const doc = await this.#relayCopy(documentId);
    const empty = this.#made(A.init<unknown>());
    try {
      const [, state] = A.receiveSyncMessage(empty, A.initSyncState(), data);
      A.generateSyncMessage(doc, state);
      return { action: "pass" };
    } catch (cause) {
      return malformed(`automerge could not answer the sync message (${String(cause)})`);
    } finally {
      this.#free(empty);
    }
  }

  /** The relay's reply to an offer of a document it does not have: "send me all of it". */
  #askForEverything(offer: Uint8Array): GateVerdict {
    const empty = this.#made(A.init<unknown>());
    try {
      const [, state] = A.receiveSyncMessage(empty, A.initSyncState(), offer);
      const [, reply] = A.generateSyncMessage(empty, state);
      return reply ? { action: "answer", data: reply } : { action: "unavailable" };
    } catch {
      return malformed("the sync message could not be applied");
    } finally {
      this.#free(empty);
    }
  }

  #made<T>(doc: A.Doc<T>): A.Doc<T> {
    this.#o.onTrialCopy?.("made");
    return doc;
  }

  #free(doc: A.Doc<unknown>): void {
    try {
      A.free(doc);
    } catch {
      // Already freed, or left unusable by a panic: nothing more to release.
    }
    this.#o.onTrialCopy?.("freed");
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
    // whenReady rejects after 60 s when the handle never gets there: once this race is over,
    // nobody else would handle that rejection.
    const ready = handle.whenReady(["ready", "unavailable"]).catch(() => undefined);
    await Promise.race([
      ready,
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.#o.settleTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (;;) {
      const doc = handle.isReady() ? handle.doc() : nothingYet();
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

let empty: A.Doc<unknown> | undefined;
/** The relay's copy of a document it has not received yet; only read, cloned and never freed. */
function nothingYet(): A.Doc<unknown> {
  empty ??= A.init<unknown>();
  return empty;
}

function malformed(message: string): GateVerdict {
  return { action: "refuse", reasons: [{ code: "MALFORMED_SYNC", message }] };
}

function isolatedRefusal(): GateVerdict {
  return {
    action: "refuse",
    reasons: [
      {
        code: "TRY_LATER",
        message:
          "the relay isolated this document after failing on it and serves it no more until it restarts; your changes stay on this device and are sent again then (operators: docs/operations.md)",
      },
    ],
  };
}

/**
 * The changes a message adds, decoded. A change that automerge's JS API cannot decode (a time
 * beyond 2^53, bytes it cannot read) is refused: stored, it would break every reader that
 * decodes changes (the submission processor, exports, history views) on every device it reaches.
 */
function decodedChanges(
  before: A.Doc<unknown>,
  after: A.Doc<unknown>,
  existed: boolean,
): { changes: A.DecodedChange[] } | { refusal: WriteRefusal } {
  const changes: A.DecodedChange[] = [];
  for (const change of existed ? A.getChanges(before, after) : A.getAllChanges(after)) {
    try {
      changes.push(A.decodeChange(change));
    } catch (cause) {
      return {
        refusal: {
          code: "UNDECODABLE_CHANGE",
          message: `a change in this sync message cannot be decoded (${String(cause)}); it was not stored: discard it on this device`,
        },
      };
    }
  }
  return { changes };
}

function sameMeta(a: DocumentMeta, b: DocumentMeta): boolean {
  return a.kind === b.kind && a.owner === b.owner && a.organization === b.organization;
}
