import { generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import { afterAll, describe, expect, it } from "vitest";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir } from "./helpers.js";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("a relay no client has reached yet", () => {
  it("answers that a document it does not store is unavailable, instead of waiting for a first connection", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const relay: Relay = await startRelay(data.dir);
    cleanups.push(() => relay.close());
    // automerge-repo's server adapter is "ready" only once a socket connects, and `find` of a
    // document not in storage waits for that: on an idle node, forever (the submission
    // processor hung on a new order). The relay's adapter is ready from the start.
    const { documentId } = parseAutomergeUrl(generateAutomergeUrl());
    const outcome = await Promise.race([
      relay.repo.find(documentId).then(
        () => "found",
        (err: Error) => `rejected: ${err.message}`,
      ),
      new Promise<string>((r) => setTimeout(() => r("still waiting after 10 s"), 10_000)),
    ]);
    expect(outcome).toMatch(/^rejected: .*unavailable/);
  });
});
