import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";
import type { UserId } from "../../docs/ids.js";
import type { DocumentKind, DocumentMeta } from "../../docs/kinds.js";

/**
 * Everything the relay keeps, behind one interface with two implementations: SQLite (embedded,
 * the default: one relay process owns the file) and PostgreSQL (shared by several relay nodes).
 * Both pass one conformance suite (tests/store/). Every method is asynchronous; a method that
 * says "one transaction" either happens whole or not at all, on both engines, whichever process
 * dies when. Methods marked "safe across processes" keep their guarantee when several stores
 * (relay nodes) share one PostgreSQL database; the others are correct there too, but make no
 * promise about ordering between nodes beyond "last committed write wins".
 */
export interface RelayStore {
  readonly engine: "sqlite" | "postgres";
  readonly chunks: ChunkStore;
  readonly heads: HeadsStore;
  readonly registry: RegistryStore;
  readonly members: MemberStore;
  readonly access: AccessStore;
  readonly submissions: SubmissionStore;
  readonly restore: RestoreStore;
  /** The catalogue (the interface below), on both engines. */
  readonly catalogue: CatalogueStore;
  /** Answers when the store can be reached (healthz); throws when it cannot. */
  ping(): Promise<void>;
  /** Waits for running operations, then releases the file or the connection pool. */
  close(): Promise<void>;
}

/** Told the duration of each store operation in seconds (the relay's store latency histogram). */
export type StoreTiming = (operation: string, seconds: number) => void;

/**
 * Document chunks: automerge-repo's storage adapter interface. Each call is one transaction;
 * `save` replaces the chunk under the same key whole (never a torn chunk). `loadRange(prefix)`
 * answers every key that starts with the prefix's parts, in the order they were first saved.
 * Safe across processes: a chunk saved by one node is read by another as soon as `save`
 * resolved (a Repo does not notice it by itself: that is the bus's job).
 */
export interface ChunkStore extends StorageAdapterInterface {
  /**
   * The content chunks (keys `[id, "snapshot" | "incremental", …]`) of each document, in the
   * order they were first saved, in one round trip: what `loadRange([id])` answers, filtered,
   * for a whole page of documents (bulk export). A document without any is left out.
   */
  loadDocuments(documentIds: readonly string[]): Promise<Map<string, Chunk[]>>;
  /**
   * The keys of the content chunks of each document, without their bytes, in one round trip: a
   * node compares them with what it has applied and reads only documents with new chunks. A
   * document without any is left out.
   */
  contentKeys(documentIds: readonly string[]): Promise<Map<string, StorageKey[]>>;
}

/** The heads of a document as last stored, and their hash (the sync digest compares hashes). */
export interface HeadsEntry {
  readonly hash: string;
  /** Automerge heads, hex. */
  readonly heads: readonly string[];
}

/**
 * The hash of each document's heads as last stored, so that a reconnecting device learns which
 * of its documents differ without the relay loading any. `record` is last-writer-wins per
 * document: two nodes storing one document record in either order, and the heads a node records
 * are always heads it has stored.
 */
export interface HeadsStore {
  record(documentId: string, entry: HeadsEntry): Promise<void>;
  entry(documentId: string): Promise<HeadsEntry | undefined>;
  /** The entry of each id recorded (ids never recorded are left out); one round trip. */
  entries(documentIds: readonly string[]): Promise<Map<string, HeadsEntry>>;
  /** The hash of each id, "" for a document never recorded; one round trip. */
  hashes(documentIds: readonly string[]): Promise<Map<string, string>>;
}

/** A user's own documents, written by the relay: one of each per (organization, user). */
export type UserDocumentKind = "workspace" | "ledger" | "inbox";

/**
 * The registry: each document's kind, owner and organization, from which every access decision
 * is made. A document id is registered once and never reused; only `AccessStore.reassign`
 * changes an owner. Safe across processes: two nodes registering the same id, user document or
 * organization document at once end with one registration, and both learn which one.
 */
export interface RegistryStore {
  get(documentId: string): Promise<DocumentMeta | undefined>;
  /** The meta of each registered id (unknown ids are left out); one round trip. */
  getMany(documentIds: readonly string[]): Promise<Map<string, DocumentMeta>>;
  /** Registers a document; false when the id was already registered (the first stays). */
  register(documentId: string, meta: DocumentMeta, now: number): Promise<boolean>;
  /** The id of a user's workspace, ledger or inbox, if one was registered. */
  userDocument(
    organization: string,
    userId: string,
    kind: UserDocumentKind,
  ): Promise<string | undefined>;
  /**
   * Registers a per-user document and links it to its user, in one transaction. Answers the id
   * that holds the link: `documentId`, or the one another caller registered first (then
   * `documentId` is not registered at all).
   */
  registerUserDocument(
    documentId: string,
    meta: DocumentMeta & { owner: UserId; kind: UserDocumentKind },
    now: number,
  ): Promise<string>;
  organizationDocument(organization: string): Promise<string | undefined>;
  /** As `registerUserDocument`, for the one organization document of an organization. */
  registerOrganizationDocument(
    documentId: string,
    organization: string,
    now: number,
  ): Promise<string>;
  /** How many documents are registered. */
  count(): Promise<number>;
  /** Every registered document of these kinds (catalogue rebuild), in registration order. */
  list(kinds: readonly DocumentKind[]): Promise<{ documentId: string; meta: DocumentMeta }[]>;
}

/**
 * The users seen in each organization (every holder of a valid token): an admin may give a
 * document only to a known member. `saw` is idempotent and safe across processes.
 */
export interface MemberStore {
  saw(organization: string, userId: string, now: number): Promise<void>;
  isMember(organization: string, userId: string): Promise<boolean>;
}

export interface RevocationRow {
  readonly organization: string;
  readonly userId: string;
  readonly revokedBy: string;
  readonly reason: string;
  readonly revokedAt: number;
}

export interface LostAccessRow {
  readonly reason: string;
  /** The document's heads (Automerge hex) when access was lost. */
  readonly heads: readonly string[];
  readonly at: number;
}

/**
 * Revocations, reassignments and what each user lost access to. Every write is one
 * transaction; a node learns another node's revocation by reading `revocations()` again (the bus
 * tells it when).
 */
export interface AccessStore {
  revocations(): Promise<RevocationRow[]>;
  /** Records (or replaces) a revocation. */
  revoke(revocation: RevocationRow): Promise<void>;
  /** Lifts a revocation; false when there was none. */
  reinstate(organization: string, userId: string): Promise<boolean>;
  lostAccess(documentId: string, userId: string): Promise<LostAccessRow | undefined>;
  /**
   * Gives a document to `owner`, in one transaction with its consequences: the previous owner's
   * loss of access is recorded (when `loss` is given) and the new owner's forgotten.
   */
  reassign(
    documentId: string,
    owner: string,
    loss?: { userId: string } & LostAccessRow,
  ): Promise<void>;
}

/** A submission request noted and not yet decided. */
export interface PendingRequest {
  readonly requestId: string;
  readonly orderId: string;
  readonly receivedAt: number;
}

export type OutcomeStatus = "accepted" | "duplicate" | "rejected";

/** A decided submission request, as stored. */
export interface OutcomeRow {
  readonly requestId: string;
  readonly orderId: string;
  readonly organization: string;
  readonly owner: string;
  readonly requestedBy: string;
  readonly status: OutcomeStatus;
  readonly revision: number | null;
  readonly orderNumber: string | null;
  /** Automerge heads (hex) an accepted request submitted. */
  readonly heads: readonly string[] | null;
  readonly duplicateOf: string | null;
  readonly code: string | null;
  readonly reason: string | null;
  readonly processedAt: number;
  readonly delivered: boolean;
}

/**
 * What the processor found when it judged a request against the order; the store turns it into
 * an outcome (accepted, duplicate or rejected) inside the decide transaction (see `decide.ts`).
 */
export interface DecisionInput {
  readonly requestId: string;
  readonly orderId: string;
  readonly organization: string;
  readonly owner: string;
  readonly requestedBy: string;
  /** The heads the request submitted. */
  readonly heads: readonly string[];
  /** Set when the request is refused whatever else was decided (incomplete order, gate). */
  readonly rejection?: { readonly code: string; readonly reason: string };
  readonly processedAt: number;
}

export interface TicketRow {
  readonly documentId: string;
  readonly organization: string;
  readonly owner: string;
  readonly ticketNumber: string;
  readonly receivedAt: number;
  /** The sequence value behind the number (sealed into the ledger); null when learned without. */
  readonly n: number | null;
  readonly delivered: boolean;
}

/** The kinds of work a node claims before doing it. */
export type WorkKind = "decide" | "deliver" | "ticket" | "ticket-deliver";

/** Formats the `n`th number of an organization (order or ticket numbers). */
export type NumberFormat = (organization: string, n: number) => string;

/**
 * Submissions and assistance tickets: requests, their one outcome each, the per-organization
 * gapless number sequences, and delivery marks.
 *
 * Exactly once, across processes:
 * - `decide` is one transaction: the outcome and the number it takes commit together or not at
 *   all. A request that already has an outcome gets it back unchanged (`decidedNow` false), so
 *   two nodes deciding one request at once end with one outcome. Decisions of one order are
 *   serialized (revisions count up without gaps), and numbers of one organization come from a
 *   counter row updated in the transaction: gapless and unique, never a database sequence.
 * - `claim` keeps two nodes from doing the same work at once: a claim is a lease held until
 *   `now + leaseMs`; a node that dies leaves it to expire, and another node takes it over.
 *   Claims are an efficiency and a courtesy; the exactly-once guarantee is the transaction's.
 */
export interface SubmissionStore {
  /** Notes new request ids of an order, one transaction; noting one again refreshes its time. */
  noteRequests(orderId: string, requestIds: readonly string[], now: number): Promise<void>;
  /** Requests without an outcome, oldest first. */
  undecided(limit: number): Promise<PendingRequest[]>;
  /**
   * Claims work for `node` until `now + leaseMs`; answers the ids this node now holds (ids
   * whose claim another node holds unexpired are left out). Renewing one's own claim is allowed.
   */
  claim(
    kind: WorkKind,
    ids: readonly string[],
    node: string,
    leaseMs: number,
    now: number,
  ): Promise<string[]>;
  /** Drops this node's claims on `ids` (work done, or given up). */
  release(kind: WorkKind, ids: readonly string[], node: string): Promise<void>;
  /** Decides a request in one transaction (see above). */
  decide(
    input: DecisionInput,
    orderNumber: NumberFormat,
  ): Promise<{ outcome: OutcomeRow; decidedNow: boolean }>;
  outcome(requestId: string): Promise<OutcomeRow | undefined>;
  /** Outcomes not yet delivered to ledgers, oldest first. */
  undelivered(limit: number): Promise<OutcomeRow[]>;
  markDelivered(requestId: string): Promise<void>;
  /** The sequence value behind an order's number (sealed with its first acceptance). */
  numberSequence(orderId: string, orderNumber: string): Promise<number | undefined>;
  /** Registered assistance requests without a ticket, oldest first. */
  unticketed(limit: number): Promise<{ documentId: string; organization: string; owner: string }[]>;
  /**
   * Gives an assistance request its ticket in one transaction (as `decide`: the existing ticket
   * when it has one, else the organization's next number).
   */
  assignTicket(
    request: { documentId: string; organization: string; owner: string },
    ticketNumber: NumberFormat,
    now: number,
  ): Promise<{ ticket: TicketRow; assignedNow: boolean }>;
  undeliveredTickets(limit: number): Promise<TicketRow[]>;
  markTicketDelivered(documentId: string): Promise<void>;
}

/**
 * An outcome learned back from a device's sealed ledger entry (seal already verified); its
 * organization is the caller's.
 */
export interface LearnedOutcome extends Omit<OutcomeRow, "organization" | "delivered"> {
  /** The sequence value behind `orderNumber`, when sealed. */
  readonly sequence?: number;
}

export interface LearnedTicket {
  readonly documentId: string;
  readonly owner: string;
  readonly ticketNumber: string;
  readonly receivedAt: number;
  readonly sequence?: number;
}

export type LearnOutcome = "learned" | "known" | "conflict";

/**
 * Restore receipts: outcomes and tickets a relay decided before it lost its data, learned back
 * from devices. One call is one transaction: what the store holds already stays ("known" when
 * equal, "conflict" when not), learned numbers are taken, and each sequence is raised past the
 * learned values so no number is issued twice.
 */
export interface RestoreStore {
  learn(
    organization: string,
    outcomes: readonly LearnedOutcome[],
    tickets: readonly LearnedTicket[],
  ): Promise<{ outcomes: LearnOutcome[]; tickets: LearnOutcome[] }>;
}

/** A catalogue row as written: the derived columns plus the heads it was derived at. */
export interface CatalogueRowInput {
  readonly kind: "quote" | "order" | "assistance";
  readonly organization: string;
  readonly owner: string;
  readonly customer: string;
  readonly project: string;
  readonly currency: string | null;
  readonly totalMinor: number | null;
  readonly lineCount: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly requestCount: number;
  /** Sorted heads joined with commas: the row is current while they equal the document's. */
  readonly heads: string;
}

/** One page of catalogue rows, sorted and filtered in the store. */
export interface CatalogueSearch {
  readonly kind: "quote" | "order" | "assistance";
  /** Text contained in customer, project or order number (case-insensitive, literal). */
  readonly q?: string;
  readonly owner?: string;
  readonly state?: "draft" | "pending" | "submitted" | "rejected";
  readonly sort: "updated" | "created" | "customer" | "total";
  readonly order: "asc" | "desc";
  readonly limit: number;
  /** Rows after this sort value and id (keyset pagination). */
  readonly after?: { readonly value: number | string; readonly id: string };
  /**
   * Access inside the query: the union of these clauses (organization, and owners when given).
   * Undefined: every row of the kind (the caller then checks each row).
   */
  readonly access?: readonly { organization: string; owners?: readonly string[] }[];
}

/**
 * The catalogue: one row per quote, order and assistance request, derived from stored documents
 * (src/relay/catalogue/). Writes are one transaction each; a row never shows more than the
 * chunks hold, because a document is marked pending in the commit that stores its chunk
 * (`saveChunkMarkingPending`) and unmarked when its row is written. Search semantics are the
 * same on both engines: keyset pages in the sort order, ties broken by id, text matched as a
 * case-insensitive literal substring.
 */
export interface CatalogueStore {
  /** The heads a row was derived at, if there is a row. */
  rowHeads(documentId: string): Promise<string | undefined>;
  /** Upserts rows and (orders) recomputes their submission columns; unmarks them pending. */
  write(rows: readonly { documentId: string; row: CatalogueRowInput }[]): Promise<void>;
  /** Saves a chunk and marks its document pending, in one transaction. */
  saveChunkMarkingPending(documentId: string, key: string[], data: Uint8Array): Promise<void>;
  pending(): Promise<string[]>;
  clearPending(documentId: string): Promise<void>;
  /**
   * Recomputes the submission columns of orders with outcomes committed since the last call of
   * this store's process (a position kept in the store); cheap when there are none.
   */
  applyOutcomes(): Promise<void>;
  /** Replaces every row, in one transaction (rebuild). */
  replaceAll(rows: readonly { documentId: string; row: CatalogueRowInput }[]): Promise<void>;
  search(query: CatalogueSearch): Promise<CatalogueRowOutput[]>;
  /**
   * The rows of these documents as written (derived columns and heads), in one round trip; a
   * document without a row, or marked pending (its storage may be ahead of its row), is left
   * out. The bulk first sync sends them with the documents (src/relay/bulk-export.ts).
   */
  currentRows(documentIds: readonly string[]): Promise<Map<string, CatalogueRowInput>>;
}

/** A catalogue row as read, with the value it sorted by (for the next page's cursor). */
export interface CatalogueRowOutput {
  readonly documentId: string;
  readonly kind: "quote" | "order" | "assistance";
  readonly organization: string;
  readonly owner: string;
  readonly customer: string;
  readonly project: string;
  readonly currency: string | null;
  readonly totalMinor: number | null;
  readonly lineCount: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly state: "draft" | "pending" | "submitted" | "rejected" | null;
  readonly orderNumber: string | null;
  readonly revision: number | null;
  readonly sortValue: number | string;
}
