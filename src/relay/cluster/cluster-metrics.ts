import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The multi-node metrics, registered in the relay's registry (which labels them with the node). */
export function createClusterMetrics(registry: Registry) {
  const registers = [registry];
  return {
    busConnected: new Gauge({
      name: "oms_relay_bus_connected",
      help: "1 while this node is connected to the bus, 0 while it serves only from the store",
      registers,
    }),
    busLag: new Histogram({
      name: "oms_relay_bus_lag_seconds",
      help: "Age of a bus notice when this node received it (publisher's clock against this node's)",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    busNotices: new Counter({
      name: "oms_relay_bus_notices_total",
      help: "Bus notices by type and direction (in, out) and, for invalid ones, dropped",
      labelNames: ["type", "direction"],
      registers,
    }),
    resyncs: new Counter({
      name: "oms_relay_resyncs_total",
      help: "Re-reads of every loaded document from the store, by reason (connected, reconnect, slow_consumer, periodic)",
      labelNames: ["reason"],
      registers,
    }),
    catchUps: new Counter({
      name: "oms_relay_catch_ups_total",
      help: "Documents brought up to date with chunks other nodes stored",
      registers,
    }),
    catchUpSeconds: new Histogram({
      name: "oms_relay_catch_up_seconds",
      help: "Time to read and apply the chunks another node stored",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    storeUp: new Gauge({
      name: "oms_relay_store_up",
      help: "1 while the store answers; 0 while this node refuses clients because it cannot reach it",
      registers,
    }),
  };
}
export type ClusterMetrics = ReturnType<typeof createClusterMetrics>;
