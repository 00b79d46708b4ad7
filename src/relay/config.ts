import type { JSONWebKeySet } from "jose";
import type { Logger } from "pino";
import type { AccessPolicy } from "../policy/access.js";
import type { FieldRule } from "../policy/write-validation.js";
import type { ConnectionLimits } from "./connection-budget.js";
import type { RefusalLogLimits } from "./refusal-log.js";
import type { FaultPoint } from "./submission-processor.js";

/** Every limit of the relay, named, in one place. */
export interface RelayLimits extends ConnectionLimits, RefusalLogLimits {
  /** Largest WebSocket message accepted; larger ones close the socket with 1009. */
  maxPayloadBytes: number;
  /** Ping interval; a peer that misses a whole interval is dropped. */
  keepAliveMs: number;
  /** How long the write gate waits for the Repo to apply an accepted message. */
  settleTimeoutMs: number;
  /** New documents offered by clients but not yet received, remembered at most. */
  maxPendingOffers: number;
  /** How long the processor waits for a just-noted submission request to reach the relay's copy. */
  requestAppearTimeoutMs: number;
  /** Interval of the processor's safety-net pass over pending requests. */
  processorIntervalMs: number;
  /** First wait before a submission or ticket row that failed is tried again (then doubled). */
  processorRetryInitialMs: number;
  /** Longest wait between two tries of a row that keeps failing. */
  processorRetryMaxMs: number;
  /** Open WebSocket connections one user may hold at once; more are refused with HTTP 429. */
  maxConnectionsPerUser: number;
  /** Documents kept loaded in memory at most (idle ones beyond are unloaded; they stay stored). */
  maxLoadedDocuments: number;
  /** A document unused for this long may be unloaded when over `maxLoadedDocuments`. */
  documentIdleMs: number;
  /** How often the relay checks `maxLoadedDocuments`. */
  cacheSweepMs: number;
  /**
   * Document bytes in one answer of `POST /v1/sync/bulk` at most (one document is always sent);
   * the ids that did not fit are answered as `more`, to ask for again.
   */
  maxBulkResponseBytes: number;
  /**
   * How long a node's claim on a submission or ticket row lasts (docs/scale-out.md): after a
   * node dies, another takes its rows over after this. A restarted SQLite relay takes its own
   * claims back at once.
   */
  claimLeaseMs: number;
}

export const defaultLimits: RelayLimits = {
  maxPayloadBytes: 16_777_216,
  keepAliveMs: 30_000,
  settleTimeoutMs: 5_000,
  maxPendingOffers: 10_000,
  requestAppearTimeoutMs: 5_000,
  processorIntervalMs: 30_000,
  processorRetryInitialMs: 1_000,
  processorRetryMaxMs: 300_000,
  maxConnectionsPerUser: 50,
  maxLoadedDocuments: 500,
  documentIdleMs: 10_000,
  cacheSweepMs: 2_000,
  maxBulkResponseBytes: 8_388_608,
  claimLeaseMs: 30_000,
  maxMessagesPerSecond: 1_000,
  messageBurst: 2_000,
  maxQueuedMessages: 20_000,
  maxDocumentsPerConnection: 20_000,
  refusalLogFirst: 20,
  refusalLogIntervalMs: 60_000,
};

export interface RelayOptions {
  /** TCP port; 0 picks a free one. Default 3030. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Folder for the database and the generated secret. Default `./data`. */
  dataDir?: string;
  /**
   * Where the relay keeps its data: undefined for the embedded SQLite file in `dataDir` (the
   * default), or a PostgreSQL URL (`postgres://user@host:5432/db`) shared by several relay
   * nodes (docs/scale-out.md). The CLI reads `--database` or `OMS_DATABASE_URL`.
   */
  database?: string;
  /** HS256 secret (at least 32 bytes). Default: `secretFile`, else `<dataDir>/relay-secret`. */
  secret?: string;
  secretFile?: string;
  /** Public keys for RS256/ES256 tokens. */
  jwks?: JSONWebKeySet;
  /** Access rules; default `defaultAccessPolicy`. */
  policy?: AccessPolicy;
  fieldRules?: readonly FieldRule[];
  /** pino level: fatal, error, warn, info, debug, trace, silent. Default info. */
  logLevel?: string;
  /** A logger of your own, instead of one on stdout. */
  logger?: Logger;
  limits?: Partial<RelayLimits>;
  /** Browser origins allowed to call the HTTP endpoints (CORS): "*" (default) or a list. */
  allowedOrigins?: "*" | readonly string[];
  /**
   * Order numbers per organization; default `SO-000123`. Numbers are unique per organization
   * (two organizations may both have SO-000001); a format that repeats a number within one
   * organization makes that request fail, logged, and retried, without blocking others.
   */
  orderNumberFormat?: (organization: string, n: number) => string;
  /** Assistance ticket numbers per organization; default `T-000123`. */
  ticketNumberFormat?: (organization: string, n: number) => string;
  /** Test hook: called between the steps of processing (see docs/submission.md). */
  faults?: (point: FaultPoint) => void;
}

export const defaultOrderNumber = (_organization: string, n: number) =>
  `SO-${String(n).padStart(6, "0")}`;
export const defaultTicketNumber = (_organization: string, n: number) =>
  `T-${String(n).padStart(6, "0")}`;

export const defaultConfiguration = {
  port: 3030,
  host: "127.0.0.1",
  dataDir: "./data",
  logLevel: "info",
  limits: defaultLimits,
} as const;
