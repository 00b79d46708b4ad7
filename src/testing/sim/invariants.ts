import * as A from "@automerge/automerge";
import { sameHeads } from "../../docs/heads.js";
import { documentMeta } from "../../docs/kinds.js";
import { checkDocument } from "../../docs/schema.js";
import type { Order } from "../../docs/types.js";
import type { SimWorld } from "./sim-world.js";

/** One broken invariant, said so a failing property's report is readable. */
export interface InvariantViolation {
  readonly invariant:
    | "convergence"
    | "validity"
    | "isolation"
    | "no-loss"
    | "exactly-once"
    | "staleness";
  readonly message: string;
}

type Check = (world: SimWorld) => InvariantViolation[];

/** After `heal()`: every document a device holds (and did not fork) has the relay's heads. */
export const checkConvergence: Check = (world) => {
  const out: InvariantViolation[] = [];
  world.devices.forEach((device, i) => {
    for (const h of device.handles()) {
      if (device.forked.has(h.documentId)) continue;
      const relay = world.relay.repo.handles[h.documentId];
      if (!relay?.isReady()) {
        out.push({
          invariant: "convergence",
          message: `device ${i} holds ${h.documentId}, the relay does not`,
        });
      } else if (
        !sameHeads(A.getHeads(h.doc() as A.Doc<unknown>), A.getHeads(relay.doc() as A.Doc<unknown>))
      ) {
        out.push({
          invariant: "convergence",
          message: `device ${i} and the relay differ on ${h.documentId}`,
        });
      }
    }
  });
  return out;
};

/** Every document on the relay, and on every device (forks aside), passes its schema. */
export const checkValidity: Check = (world) => {
  const out: InvariantViolation[] = [];
  const nodes = [
    {
      name: "the relay",
      handles: Object.values(world.relay.repo.handles).filter((h) => h.isReady()),
      forked: new Set<string>(),
    },
    ...world.devices.map((d, i) => ({
      name: `device ${i}`,
      handles: d.handles(),
      forked: d.forked,
    })),
  ];
  for (const node of nodes) {
    for (const h of node.handles) {
      if (node.forked.has(h.documentId) || A.getHeads(h.doc() as A.Doc<unknown>).length === 0)
        continue;
      const problems = checkDocument(h.doc());
      if (problems.length > 0) {
        out.push({
          invariant: "validity",
          message: `${node.name}: ${h.documentId} ${problems[0]?.path.join(".")}: ${problems[0]?.message}`,
        });
      }
    }
  }
  return out;
};

/**
 * No device holds (in memory or storage) a document its user may not read, and every change the
 * relay holds was written by a user allowed to write that document.
 */
export const checkIsolation: Check = (world) => {
  const out: InvariantViolation[] = [];
  world.devices.forEach((device, i) => {
    const held = new Set([
      ...device.handles().map((h) => h.documentId as string),
      ...device.storage.keys().map((k) => k[0] as string),
    ]);
    for (const id of held) {
      const meta = world.relay.meta(id);
      if (meta && !world.policy.canRead(device.principal, meta)) {
        out.push({
          invariant: "isolation",
          message: `device ${i} (${device.principal.userId}) holds ${id}, which it may not read`,
        });
      }
    }
  });
  for (const h of Object.values(world.relay.repo.handles)) {
    if (!h.isReady()) continue;
    const meta = world.relay.meta(h.documentId) ?? documentMeta(h.doc());
    if (!meta) continue;
    for (const change of A.getAllChanges(h.doc() as A.Doc<unknown>)) {
      const decoded = A.decodeChange(change);
      const user = world.actors.get(decoded.actor);
      if (!user) continue;
      const principal = world.devices.find((d) => d.principal.userId === user)?.principal;
      const creating = decoded.deps.length === 0;
      const allowed =
        principal &&
        (creating
          ? world.policy.canCreate(principal, meta)
          : world.policy.canWrite(principal, meta));
      if (!allowed)
        out.push({
          invariant: "isolation",
          message: `the relay holds a change by ${user} to ${h.documentId}, which ${user} may not write`,
        });
    }
  }
  return out;
};

/**
 * After `heal()`: every change a device wrote with the right to write it is at the relay and on
 * every device whose user may read the document; every document a device forked with a refused
 * write is still on that device, and the relay told its user why.
 */
export const checkNoLoss: Check = (world) => {
  const out: InvariantViolation[] = [];
  world.devices.forEach((device, i) => {
    for (const id of device.forked) {
      if (!device.repo.handles[id as never]?.isReady()) {
        out.push({
          invariant: "no-loss",
          message: `device ${i} lost ${id}, which holds a refused write`,
        });
      }
      const told = world.relay.refusals.some(
        (r) => r.user === device.principal.userId && r.notice.documentId === id,
      );
      const known = world.relay.meta(id) !== undefined;
      if (known && !told)
        out.push({
          invariant: "no-loss",
          message: `device ${i}'s refused write to ${id} was never reported`,
        });
    }
    for (const [id, hashes] of device.written) {
      if (device.forked.has(id)) continue;
      const relay = world.relay.repo.handles[id as never];
      const wanted = [...hashes];
      if (!relay?.isReady() || !A.hasHeads(relay.doc() as A.Doc<unknown>, wanted)) {
        out.push({
          invariant: "no-loss",
          message: `a change by device ${i} to ${id} is not at the relay`,
        });
        continue;
      }
      const meta = world.relay.meta(id);
      world.devices.forEach((other, j) => {
        if (
          j === i ||
          !meta ||
          !world.policy.canRead(other.principal, meta) ||
          other.forked.has(id)
        )
          return;
        const copy = other.repo.handles[id as never];
        if (!copy?.isReady() || !A.hasHeads(copy.doc() as A.Doc<unknown>, wanted)) {
          out.push({
            invariant: "no-loss",
            message: `a change by device ${i} to ${id} did not reach device ${j}`,
          });
        }
      });
    }
  });
  return out;
};

/** Every submission request at the relay has exactly one outcome; numbers and revisions are sound. */
export const checkExactlyOnce: Check = (world) => {
  const out: InvariantViolation[] = [];
  const db = world.relay.db;
  const outcomes = new Map(
    (
      db
        .prepare("SELECT request_id, order_id, status, revision FROM submission_outcomes")
        .all() as {
        request_id: string;
        order_id: string;
        status: string;
        revision: number | null;
      }[]
    ).map((o) => [o.request_id, o]),
  );
  for (const h of Object.values(world.relay.repo.handles)) {
    if (!h.isReady() || (h.doc() as { kind?: string }).kind !== "order") continue;
    for (const requestId of Object.keys((h.doc() as Order).submissions)) {
      if (!outcomes.has(requestId))
        out.push({ invariant: "exactly-once", message: `request ${requestId} has no outcome` });
    }
  }
  const byOrder = new Map<string, number[]>();
  for (const o of outcomes.values()) {
    if (o.status === "accepted")
      byOrder.set(o.order_id, [...(byOrder.get(o.order_id) ?? []), o.revision as number]);
  }
  for (const [order, revisions] of byOrder) {
    const sorted = [...revisions].sort((a, b) => a - b);
    if (sorted.some((r, i) => r !== i + 1))
      out.push({
        invariant: "exactly-once",
        message: `order ${order} has revisions ${sorted.join(",")}`,
      });
  }
  const numbers = db
    .prepare(
      "SELECT organization, order_number, count(*) AS n FROM order_numbers GROUP BY organization, order_number HAVING n > 1",
    )
    .all();
  for (const n of numbers)
    out.push({ invariant: "exactly-once", message: `order number reused: ${JSON.stringify(n)}` });
  return out;
};

/** No device's gate ever went from blocked to open without a complete sync in between. */
export const checkStaleness: Check = (world) => {
  const out: InvariantViolation[] = [];
  world.devices.forEach((device, i) => {
    for (let k = 1; k < device.gateLog.length; k++) {
      const before = device.gateLog[k - 1] as { level: string; syncs: number };
      const after = device.gateLog[k] as { level: string; syncs: number };
      if (before.level === "blocked" && after.level !== "blocked" && after.syncs === before.syncs) {
        out.push({
          invariant: "staleness",
          message: `device ${i}'s gate unblocked without a sync`,
        });
      }
    }
  });
  return out;
};

/** Every invariant at once. */
export function checkAll(world: SimWorld): InvariantViolation[] {
  return [
    checkConvergence,
    checkValidity,
    checkIsolation,
    checkNoLoss,
    checkExactlyOnce,
    checkStaleness,
  ].flatMap((c) => c(world));
}
