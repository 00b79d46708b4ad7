// oms-sync/react: React 18 and 19 bindings of the client. Documents (and the ledger) suspend while they
// open and throw open errors to error boundaries; lists, status, gate, quarantine and inbox are
// values (never suspend, never throw). See docs/react.md.

export type { GateBannerProps } from "./gate-banner.js";
export { GateBanner, gateMessage } from "./gate-banner.js";
export type { OmsProviderProps } from "./provider.js";
export { OmsProvider, useClient } from "./provider.js";
export type { ReactOptions } from "./stores.js";
export { reactDefaults } from "./stores.js";
export type { SyncStatusCornerPart, SyncStatusCornerProps } from "./sync-status-corner.js";
export { SyncStatusCorner } from "./sync-status-corner.js";
export type {
  ChangeFn,
  CollectionKind,
  DocumentResult,
  GateView,
  InboxItem,
  InboxView,
  KindDocuments,
  ListOptions,
  ListResult,
  ListRow,
  NoDocumentResult,
  QuarantineView,
} from "./types.js";
export { useInbox, useQuarantine } from "./use-collections.js";
export {
  useAssistanceRequest,
  useDocument,
  useOrder,
  useQuote,
  useRetry,
} from "./use-document.js";
export { useAssistance, useOrders, useQuotes } from "./use-lists.js";
export {
  useChangesSinceSubmission,
  useLedger,
  useOrderState,
  useTransmitted,
} from "./use-order-state.js";
export { useGate, useSyncStatus } from "./use-sync.js";
