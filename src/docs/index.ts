// oms-sync/docs: document schemas, typed mutations and derived amounts. Pure: no I/O.

export type { NewAssistanceRequest } from "./assistance.js";
export { createAssistanceRequest, setAssistanceBody } from "./assistance.js";
export type {
  CatalogueEntry,
  CatalogueKind,
  CataloguePage,
  CatalogueSort,
  OrderState,
} from "./catalogue.js";
export { catalogueKinds, catalogueSorts, orderStates } from "./catalogue.js";
export { deepEqual } from "./deep-equal.js";
export type { OmsErrorCode, Violation } from "./errors.js";
export { OmsError, ValidationError } from "./errors.js";
export type {
  AddressId,
  DocId,
  LineItemId,
  MessageId,
  OrganizationId,
  RequestId,
  UserId,
} from "./ids.js";
export {
  asDocId,
  asOrganizationId,
  asUserId,
  newLineItemId,
  newMessageId,
  newRequestId,
} from "./ids.js";
export { createInbox, postMessage } from "./inbox.js";
export type { DocumentKind, DocumentMeta } from "./kinds.js";
export {
  documentKinds,
  documentMeta,
  isDocumentKind,
  SCHEMA_VERSION,
  serverWrittenKinds,
  userWritableKinds,
} from "./kinds.js";
export { createLedger, recordAssistanceReceipt, recordSubmissionOutcome } from "./ledger.js";
export type { LineItemPatch, LineItemWithId, NewLineItem } from "./line-items.js";
export {
  addLineItem,
  addLineItems,
  moveLineItem,
  removeLineItem,
  sortedLineItems,
  updateLineItem,
} from "./line-items.js";
export type { CurrencyCode, Money } from "./money.js";
export {
  addMoney,
  asCurrency,
  currencyDigits,
  formatMoney,
  isCurrencyCode,
  money,
  moneyLimits,
  mulDivRoundHalfUp,
  subtractMoney,
} from "./money.js";
export type { NewSubmissionRequest } from "./order.js";
export {
  addSubmissionRequest,
  checkOrderComplete,
  convertQuoteToOrder,
  createOrder,
} from "./order.js";
export { createOrganization } from "./organization.js";
export { comparePositioned, isPositionKey } from "./positions.js";
export type { HeaderPatch, NewCommercialDocument } from "./quote.js";
export { createQuote, setHeader, setNotes } from "./quote.js";
export {
  assertValidDocument,
  checkDocument,
  isValidDocument,
  textLimits,
} from "./schema.js";
export type { DocumentTotals, LineTotals } from "./totals.js";
export { documentTotals } from "./totals.js";
export type * from "./types.js";
export {
  addToMy,
  createWorkspace,
  markRead,
  myChanges,
  myEntries,
  myEntry,
  myIds,
  myPartOf,
  removeFromMy,
} from "./workspace.js";
