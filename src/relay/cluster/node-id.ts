import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

/** Characters a node id may hold: it appears in logs, metric labels and bus notices. */
const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The name of this relay process among the nodes of one deployment. Given by the operator
 * (`--node-id`, `OMS_RELAY_NODE_ID`) it stays the same across restarts, which makes logs and
 * dashboards readable; otherwise host name, process id and a random suffix, so that two
 * processes on one host, or a restart with a recycled pid, never share one.
 */
export function resolveNodeId(given?: string): string {
  if (given !== undefined) {
    if (!NODE_ID.test(given))
      throw new Error(
        `node id ${JSON.stringify(given)} is not valid: use 1 to 64 letters, digits, dots, dashes or underscores`,
      );
    return given;
  }
  const host = hostname()
    .replace(/[^A-Za-z0-9.-]/g, "-")
    .slice(0, 40);
  return `${host}-${process.pid}-${randomBytes(3).toString("hex")}`;
}
