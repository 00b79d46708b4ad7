import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The relay's Prometheus metrics, in a registry of its own (several relays may share a process). */
export function createRelayMetrics(sources: {
  loadedDocuments: () => number;
  processingBacklog?: () => number;
  isolatedDocuments?: () => number;
  /** This node's name, in `oms_relay_node_info`. */
  nodeId?: string;
  /** Labels every series with the node too (several relay nodes behind one load balancer). */
  labelNode?: boolean;
}) {
  const registry = new Registry();
  if (sources.nodeId && sources.labelNode) registry.setDefaultLabels({ node: sources.nodeId });
  if (sources.nodeId)
    new Gauge({
      name: "oms_relay_node_info",
      help: "Always 1; its label names this relay node",
      labelNames: ["node"],
      registers: [registry],
    }).set({ node: sources.nodeId }, 1);
  // prom-client's own names start with `process_` and `nodejs_`: with this prefix they read
  // `oms_relay_process_cpu_seconds_total`, `oms_relay_nodejs_heap_size_used_bytes`.
  collectDefaultMetrics({ register: registry, prefix: "oms_relay_" });
  const m = {
    registry,
    connections: new Gauge({
      name: "oms_relay_connections",
      help: "Open WebSocket connections",
      registers: [registry],
    }),
    peers: new Gauge({ name: "oms_relay_peers", help: "Joined peers", registers: [registry] }),
    documentsLoaded: new Gauge({
      name: "oms_relay_documents_loaded",
      help: "Documents loaded in memory",
      registers: [registry],
      collect() {
        this.set(sources.loadedDocuments());
      },
    }),
    messagesIn: new Counter({
      name: "oms_relay_messages_in_total",
      help: "Messages received",
      labelNames: ["type"],
      registers: [registry],
    }),
    messagesOut: new Counter({
      name: "oms_relay_messages_out_total",
      help: "Messages sent",
      labelNames: ["type"],
      registers: [registry],
    }),
    bytesIn: new Counter({
      name: "oms_relay_bytes_in_total",
      help: "Bytes received",
      registers: [registry],
    }),
    bytesOut: new Counter({
      name: "oms_relay_bytes_out_total",
      help: "Bytes sent",
      registers: [registry],
    }),
    refusals: new Counter({
      name: "oms_relay_refusals_total",
      help: "Refused connections, messages and writes",
      labelNames: ["reason"],
      registers: [registry],
    }),
    documentsUnloaded: new Counter({
      name: "oms_relay_documents_unloaded_total",
      help: "Idle documents unloaded from memory to stay within maxLoadedDocuments",
      registers: [registry],
    }),
    throttled: new Counter({
      name: "oms_relay_throttled_total",
      help: "Times a connection's reads were paused for sending faster than maxMessagesPerSecond",
      registers: [registry],
    }),
    presenceDropped: new Counter({
      name: "oms_relay_presence_dropped_total",
      help: "Ephemeral messages (presence) not sent to a peer whose socket had over MAX_EPHEMERAL_BACKLOG_BYTES unsent",
      registers: [registry],
    }),
    restoreReceipts: new Counter({
      name: "oms_relay_restore_receipts_total",
      help: "Ledger entries devices sent back to a relay that lost data, by result (learned, known, refused: not sealed by this relay, conflict)",
      labelNames: ["result"],
      registers: [registry],
    }),
    adminActions: new Counter({
      name: "oms_relay_admin_actions_total",
      help: "Admin actions taken (reassign, revoke, reinstate)",
      labelNames: ["action"],
      registers: [registry],
    }),
    processingFailures: new Counter({
      name: "oms_relay_processing_failures_total",
      help: "Submission and assistance rows whose processing step failed (each is retried with backoff)",
      labelNames: ["step"],
      registers: [registry],
    }),
    processingBacklog: new Gauge({
      name: "oms_relay_processing_backlog",
      help: "Submission and assistance rows waiting to be retried after a failure",
      registers: [registry],
      collect() {
        this.set(sources.processingBacklog?.() ?? 0);
      },
    }),
    documentsIsolated: new Gauge({
      name: "oms_relay_documents_isolated",
      help: "Documents the relay stopped serving after failing on them (listed in /healthz)",
      registers: [registry],
      collect() {
        this.set(sources.isolatedDocuments?.() ?? 0);
      },
    }),
    bulkDocuments: new Counter({
      name: "oms_relay_bulk_documents_total",
      help: "Documents sent in answers to POST /v1/sync/bulk (first syncs)",
      registers: [registry],
    }),
    trialCopies: new Counter({
      name: "oms_relay_trial_copies_total",
      help: "Copies of documents the write gate made to judge a message, and freed",
      labelNames: ["event"],
      registers: [registry],
    }),
    storageSeconds: new Histogram({
      name: "oms_relay_storage_seconds",
      help: "Storage operation latency",
      labelNames: ["operation"],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    storeSeconds: new Histogram({
      name: "oms_relay_store_seconds",
      help: "Latency of each store operation (src/relay/store/), by engine and operation",
      labelNames: ["engine", "operation"],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
  };
  return m;
}
export type RelayMetrics = ReturnType<typeof createRelayMetrics>;
