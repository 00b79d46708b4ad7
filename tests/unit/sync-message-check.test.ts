import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";
import { type DecodedSyncMessage, syncMessageProblem } from "../../src/relay/sync-message-check.js";

/** A real message with a bloom filter: a peer that synced once, then changed its document. */
function realMessage(): DecodedSyncMessage {
  let ours = A.change(A.init<{ n?: number }>(), (d) => {
    d.n = 1;
  });
  let theirs = A.init<{ n?: number }>();
  let ourState = A.initSyncState();
  let theirState = A.initSyncState();
  for (let i = 0; i < 4; i++) {
    const [s1, m1] = A.generateSyncMessage(ours, ourState);
    ourState = s1;
    if (m1) [theirs, theirState] = A.receiveSyncMessage(theirs, theirState, m1);
    const [s2, m2] = A.generateSyncMessage(theirs, theirState);
    theirState = s2;
    if (m2) [ours, ourState] = A.receiveSyncMessage(ours, ourState, m2);
  }
  ours = A.change(ours, (d) => {
    d.n = 2;
  });
  const [, message] = A.generateSyncMessage(ours, ourState);
  return A.decodeSyncMessage(message as Uint8Array) as unknown as DecodedSyncMessage;
}

const withBloom = (bloom: Uint8Array): DecodedSyncMessage => ({
  ...realMessage(),
  have: [{ lastSync: [], bloom }],
});

describe("sync message parameters", () => {
  it("accepts what automerge produces", () => {
    const message = realMessage();
    expect(message.have[0]?.bloom.byteLength).toBeGreaterThan(0);
    expect(syncMessageProblem(message)).toBeUndefined();
    expect(syncMessageProblem(withBloom(new Uint8Array()))).toBeUndefined();
  });

  it.each([
    ["0 bits per entry", [1, 0, 7]],
    ["2^31 probes", [1, 10, 0x80, 0x80, 0x80, 0x80, 0x08, 0, 0]],
    ["0 probes", [1, 10, 0, 0, 0]],
    ["no entries but a header", [0, 10, 7]],
    ["bits missing", [2, 10, 7, 0]],
    ["bits left over", [1, 10, 7, 0, 0, 0]],
    ["a header cut short", [1, 10]],
    ["an entry count over 32 bits", [0x80, 0x80, 0x80, 0x80, 0x10, 10, 7]],
  ])("refuses a bloom filter with %s", (_name, bytes) => {
    expect(syncMessageProblem(withBloom(Uint8Array.from(bytes)))).toMatch(/bloom filter/);
  });

  it("refuses heads that are not hashes and oversized lists", () => {
    expect(syncMessageProblem({ ...realMessage(), heads: ["zz"] })).toMatch(/heads/);
    const many = Array.from({ length: 1_001 }, () => "a".repeat(64));
    expect(syncMessageProblem({ ...realMessage(), heads: many })).toMatch(/heads/);
    const have = Array.from({ length: 5 }, () => ({ lastSync: [], bloom: new Uint8Array() }));
    expect(syncMessageProblem({ ...realMessage(), have })).toMatch(/have/);
  });
});
