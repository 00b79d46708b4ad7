import type { Repo } from "@automerge/automerge-repo";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { defaultGateConfig } from "../../src/policy/staleness-gate.js";
import { defaultOrderNumber } from "../../src/relay/config.js";
import type { SessionService } from "../../src/relay/session.js";
import type { SubmissionStore, WorkKind } from "../../src/relay/store/types.js";
import { SubmissionProcessor } from "../../src/relay/submission-processor.js";

/**
 * A store with `count` undecided requests, some of them claimed by another node. Every request's
 * order is missing from the Repo, so each decide step gives its claim back at once.
 */
function storeWith(count: number, othersHold: readonly string[]) {
  const ids = Array.from({ length: count }, (_, i) => `r${i}`);
  const held = new Set<string>();
  const log = { maxHeld: 0, released: [] as string[], undecidedCalls: 0 };
  const store = {
    async undecided() {
      log.undecidedCalls++;
      // A pass is slow: other calls to `schedule` come in while it runs.
      await new Promise((r) => setTimeout(r, 5));
      return ids.map((requestId) => ({ requestId, orderId: `order-${requestId}`, receivedAt: 0 }));
    },
    async claim(_kind: WorkKind, wanted: readonly string[]) {
      const mine = wanted.filter((id) => !othersHold.includes(id));
      for (const id of mine) held.add(id);
      log.maxHeld = Math.max(log.maxHeld, held.size);
      return mine;
    },
    async release(_kind: WorkKind, released: readonly string[]) {
      for (const id of released) {
        held.delete(id);
        log.released.push(id);
      }
    },
    undelivered: async () => [],
    unticketed: async () => [],
    undeliveredTickets: async () => [],
  } as unknown as SubmissionStore;
  return { store, log };
}

function processorOn(store: SubmissionStore) {
  return new SubmissionProcessor({
    store,
    node: "node-a",
    repo: { find: () => Promise.reject(new Error("no such order")) } as unknown as Repo,
    sessions: {} as SessionService,
    log: pino({ level: "silent" }),
    gate: defaultGateConfig,
    orderNumber: defaultOrderNumber,
    ticketNumber: defaultOrderNumber,
    appearTimeoutMs: 0,
    verifyReceipt: async () => 0,
  });
}

describe("submission processor claims across nodes", () => {
  it("claims a few rows at a time, as it reaches them, and skips the rows another node holds", async () => {
    // Claiming a whole batch at once let one node hold hundreds of rows for minutes while the
    // other nodes, finding them all claimed, did nothing.
    const { store, log } = storeWith(100, ["r3", "r50"]);
    const processor = processorOn(store);
    await processor.schedule();
    expect(log.maxHeld).toBeGreaterThan(0);
    expect(log.maxHeld).toBeLessThanOrEqual(8);
    expect(log.released).toHaveLength(98);
    expect(log.released).not.toContain("r3");
    expect(log.released).not.toContain("r50");
    processor.close();
  });

  it("runs one pass for the many calls made while a pass is queued", async () => {
    // Each notice of work from another node schedules a pass: queued one per call, they piled up
    // behind a long pass.
    const { store, log } = storeWith(3, []);
    const processor = processorOn(store);
    const calls = Array.from({ length: 50 }, () => processor.schedule());
    await Promise.all(calls);
    expect(log.undecidedCalls).toBe(1);
    await processor.schedule();
    expect(log.undecidedCalls).toBe(2);
    processor.close();
  });
});
