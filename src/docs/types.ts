import type {
  AddressId,
  DocId,
  LineItemId,
  MessageId,
  OrganizationId,
  RequestId,
  UserId,
} from "./ids.js";
import type { CurrencyCode } from "./money.js";

// The shapes of the documents as stored in Automerge. Strings written through the mutations are
// whole values (last writer wins), except `notes` and `body`, which merge character by character.

/** One line of a quote or order. Its id is its key in `lineItems`. */
export interface LineItem {
  productCode: string;
  description: string;
  /** Product options, e.g. `{ color: "white", glazing: "triple" }`. */
  options: Record<string, string>;
  /** A positive whole number. */
  quantity: number;
  /** Price of one unit in minor units of the document's currency. */
  unitPrice: number;
  /** Discount in basis points of the line amount (0 to 10_000). */
  discountBp: number;
  /** Fractional-index key; the order of lines is (position, id). */
  position: string;
}

export interface Customer {
  name: string;
  contact: string;
}

interface Owned {
  schemaVersion: number;
  owner: UserId;
  organization: OrganizationId;
}

/** The fields quotes and orders share. */
export interface CommercialDocument extends Owned {
  customer: Customer;
  projectName: string;
  /** Collaborative text. */
  notes: string;
  currency: CurrencyCode;
  createdAt: number;
  updatedAt: number;
  lineItems: Record<LineItemId, LineItem>;
}

export interface Quote extends CommercialDocument {
  kind: "quote";
}

/** A client's request to submit an order as it stood at `heads`. */
export interface SubmissionRequest {
  requestedBy: UserId;
  /** Device clock, milliseconds since the epoch. */
  requestedAt: number;
  /** The Automerge heads being submitted: the order as it was when the request was made. */
  heads: string[];
  /** Relay time of the device's last complete sync when the request was written, if any. */
  lastSyncAt: number | null;
  /**
   * The relay's signed receipt of that sync's time (`relayTime.receipt` of `/v1/session`). The
   * relay judges the staleness gate by it, not by `lastSyncAt`. Absent in requests written by
   * clients before 0.x; the relay rejects those with GATE_RECEIPT_INVALID.
   */
  lastSyncReceipt?: string | null;
}

export interface Order extends CommercialDocument {
  kind: "order";
  /** The quote this order was converted from, if any. */
  sourceQuote: DocId | null;
  submissions: Record<RequestId, SubmissionRequest>;
}

export interface RelatedDocument {
  kind: "quote" | "order";
  id: DocId;
}

export interface AssistanceRequest extends Owned {
  kind: "assistance";
  subject: string;
  /** Collaborative text. */
  body: string;
  related: RelatedDocument | null;
  createdBy: UserId;
  createdAt: number;
}

export interface WorkspaceEntry {
  kind: "quote" | "order" | "assistance";
  addedAt: number;
}

/** Per user, written by the user's devices (and the relay): the "My" index and read markers. */
export interface Workspace extends Owned {
  kind: "workspace";
  /**
   * "My" as older workspaces keep it, one flat map. Read "My" with `myEntries`/`myEntry`, which
   * also read `myParts`; write it with `addToMy`/`removeFromMy`.
   */
  my: Record<DocId, WorkspaceEntry>;
  /**
   * "My" in parts named by the id's last character (`myPartOf`), created with the workspace:
   * adding an entry then costs the same with 10 or 10,000 documents. Absent on workspaces
   * created before the parts existed, which keep writing `my`.
   */
  myParts?: Record<string, Record<DocId, WorkspaceEntry>>;
  /** Inbox message id → when it was read (device clock). */
  read: Record<MessageId, number>;
}

/**
 * The relay's HMAC over a ledger entry, so that a relay that lost data can learn the entry back
 * from a device's copy (docs/operations.md). Absent on entries written before seals existed.
 */
export interface ReceiptSeal {
  owner: string;
  requestedBy?: string;
  /** The organization's sequence value behind the entry's number, when it introduced one. */
  sequence?: number;
  mac: string;
}

interface OutcomeBase {
  orderId: DocId;
  /** Relay clock, milliseconds since the epoch. */
  processedAt: number;
  seal?: ReceiptSeal;
}
export interface AcceptedOutcome extends OutcomeBase {
  status: "accepted";
  revision: number;
  orderNumber: string;
  heads: string[];
}
export interface DuplicateOutcome extends OutcomeBase {
  status: "duplicate";
  duplicateOf: RequestId;
  revision: number;
  orderNumber: string;
}
export interface RejectedOutcome extends OutcomeBase {
  status: "rejected";
  code: string;
  reason: string;
}
/** The relay's answer to one submission request. Exactly one per request. */
export type SubmissionOutcome = AcceptedOutcome | DuplicateOutcome | RejectedOutcome;

export interface AssistanceReceipt {
  ticketNumber: string;
  state: "open" | "closed";
  receivedAt: number;
  /** Covers `ticketNumber` and `receivedAt` (the state changes later). */
  seal?: ReceiptSeal;
}

/** Per user, written by the relay alone: receipts of submissions and assistance requests. */
export interface Ledger extends Owned {
  kind: "ledger";
  submissions: Record<RequestId, SubmissionOutcome>;
  assistance: Record<DocId, AssistanceReceipt>;
}

export interface InboxMessage {
  at: number;
  subject: string;
  body: string;
  ref: { kind: "quote" | "order" | "assistance"; id: DocId } | null;
}

/** Per user, written by the relay alone. */
export interface Inbox extends Owned {
  kind: "inbox";
  messages: Record<MessageId, InboxMessage>;
}

export interface Address {
  label: string;
  lines: string[];
  city: string;
  postalCode: string;
  country: string;
}

export interface Member {
  name: string;
  roles: string[];
}

/** Per organization, written by the relay or an organization admin. */
export interface Organization {
  kind: "organization";
  schemaVersion: number;
  organization: OrganizationId;
  name: string;
  addresses: Record<AddressId, Address>;
  priceListVersion: string;
  members: Record<UserId, Member>;
}

export type OmsDocument =
  | Quote
  | Order
  | AssistanceRequest
  | Workspace
  | Ledger
  | Inbox
  | Organization;
