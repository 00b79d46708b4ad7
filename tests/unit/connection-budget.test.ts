import { describe, expect, it } from "vitest";
import { ConnectionBudget } from "../../src/relay/connection-budget.js";

const limits = {
  maxMessagesPerSecond: 100,
  messageBurst: 10,
  maxQueuedMessages: 3,
  maxDocumentsPerConnection: 2,
};

describe("a connection's budget", () => {
  it("lets a burst through, then asks for a pause that refills the bucket at the rate", () => {
    let now = 0;
    const budget = new ConnectionBudget(limits, () => now);
    for (let i = 0; i < 10; i++) expect(budget.take()).toBe(0);
    expect(budget.take()).toBe(10); // one message over: 1/100 s
    expect(budget.take()).toBe(20);
    now += 20; // two tokens back
    expect(budget.take()).toBe(10);
    now += 1_000; // never more than the burst
    for (let i = 0; i < 10; i++) expect(budget.take()).toBe(0);
    expect(budget.take()).toBeGreaterThan(0);
  });

  it("counts a backlog and a connection's distinct documents", () => {
    const budget = new ConnectionBudget(limits, () => 0);
    expect([budget.enqueue(), budget.enqueue(), budget.enqueue(), budget.enqueue()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    budget.dequeue();
    budget.dequeue();
    expect(budget.enqueue()).toBe(true);
    expect(budget.admitDocument("a")).toBe(true);
    expect(budget.admitDocument("b")).toBe(true);
    expect(budget.admitDocument("a")).toBe(true);
    expect(budget.admitDocument("c")).toBe(false);
  });
});
