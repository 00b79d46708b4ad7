// oms-sync/relay: the reference sync relay (Node) and its building blocks.

export { SqliteStorageAdapter } from "../adapters/storage-sqlite.js";
export type { LostAccess, MemberRef, Reassignment, Revocation } from "./admin.js";
export type { TokenKeys, TokenRequest, TokenVerifier } from "./auth.js";
export { createTokenVerifier, mintToken, signRelayTime, verifyRelayTime } from "./auth.js";
export type { RelayLimits, RelayOptions } from "./config.js";
export { defaultConfiguration, defaultLimits } from "./config.js";
export { openDatabase } from "./database.js";
export type { IsolatedDocument } from "./isolated-documents.js";
export type { RefusalNotice } from "./protocol.js";
export {
  closeCodes,
  isRefusalNotice,
  PROTOCOL_VERSION,
  REFUSAL_NOTICE,
  refusalReasons,
} from "./protocol.js";
export type { Relay, WireStats } from "./relay.js";
export { createRelay } from "./relay.js";
export type { SessionResponse } from "./session.js";
export { openStore } from "./store/open.js";
export { PostgresStore, type PostgresStoreOptions } from "./store/postgres/postgres-store.js";
export { SqliteStore } from "./store/sqlite/sqlite-store.js";
export type {
  AccessStore,
  ChunkStore,
  HeadsStore,
  MemberStore,
  RegistryStore,
  RelayStore,
  RestoreStore,
  StoreTiming,
  SubmissionStore,
} from "./store/types.js";
