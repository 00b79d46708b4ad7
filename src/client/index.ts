// oms-sync: the embeddable client (browser-safe: no Node built-ins). The document model and
// policy rules it enforces are re-exported so a front end needs one import.

export { ClientSocketAdapter } from "../adapters/network-ws-client.js";
export { FileStorageAdapter } from "../adapters/storage-file.js";
export { DeviceIndexedDbStorageAdapter } from "../adapters/storage-indexeddb.js";
export { MemoryStorageAdapter } from "../adapters/storage-memory.js";
export { PrefixedStorageAdapter } from "../adapters/storage-prefixed.js";
export * from "../docs/index.js";
export * from "../policy/index.js";
export type { CatalogueSearch } from "./catalogue-search.js";
export type {
  ClientOptions,
  DocumentCollection,
  Listed,
  MyRow,
  NewAssistanceInput,
  NewDocumentInput,
  OmsClient,
  OrderCollection,
  StorageOption,
} from "./client.js";
export { createClient } from "./client.js";
export type { Clock } from "./clock.js";
export { systemClock } from "./clock.js";
export type { OmsDocumentHandle } from "./document-handle.js";
export { FeatureDisabledError, WriteRefusedError } from "./errors.js";
export type {
  ChangeDecoder,
  QuarantineEntry,
  QuarantineExport,
  UnsyncedChange,
} from "./quarantine.js";
export { unsyncedChanges } from "./quarantine.js";
export type { SessionResponse } from "./session.js";
export type { SyncSchedule } from "./sync-engine.js";
export { defaultSchedule } from "./sync-engine.js";
export type { SyncStatus } from "./sync-status.js";
