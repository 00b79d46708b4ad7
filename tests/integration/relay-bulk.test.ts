import { cbor, type Repo } from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/index.js";
import {
  asOrganizationId,
  asUserId,
  createQuote,
  type Quote,
  setHeader,
} from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, stockClient, tempDir, waitFor, waitStored } from "./helpers.js";

// Found from outside: 1,000 copies of one's own large document id in a 31 KB request made the
// relay build a 750 MB answer in memory, and /healthz stalled for 8 s.

const cap = 2_000;
let relay: Relay;
let data: { dir: string; remove: () => void };
let alice: { repo: Repo; close: () => Promise<void> };
let token: string;
const ids: string[] = [];

interface Answer {
  docs: { id: string; heads: string[]; data: Uint8Array }[];
  unavailable: string[];
  more: string[];
}

beforeAll(async () => {
  data = tempDir();
  relay = await startRelay(data.dir, { limits: { maxBulkResponseBytes: cap } });
  token = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
  alice = stockClient(relay, token);
  await waitFor(() => alice.repo.peers.length > 0, "alice to connect");
  for (let i = 0; i < 12; i++) {
    const handle = alice.repo.create<Quote>(
      createQuote({
        owner: asUserId("alice"),
        organization: asOrganizationId("acme"),
        currency: "USD",
      }),
    );
    handle.change((q) => {
      setHeader(q, { projectName: `Q${i}` });
      // The first one alone is larger than the limit. Random text: automerge compresses repeats.
      if (i === 0)
        q.notes = Array.from({ length: 3 * cap }, () => Math.random().toString(36)[2]).join("");
    });
    await waitStored(alice.repo, handle, relay.peerId);
    ids.push(handle.documentId);
  }
});
afterAll(async () => {
  await alice.close();
  await relay.close();
  data.remove();
});

async function bulk(asked: string[]): Promise<Answer> {
  const response = await fetch(`${relay.httpUrl}/v1/sync/bulk`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ ids: asked }),
  });
  expect(response.status).toBe(200);
  return cbor.decode(new Uint8Array(await response.arrayBuffer())) as Answer;
}

describe("POST /v1/sync/bulk", () => {
  it("answers an id asked for many times once", async () => {
    const answer = await bulk(Array.from({ length: 1_000 }, () => ids[1] as string));
    expect(answer.docs.map((d) => d.id)).toEqual([ids[1]]);
    expect(answer.more).toEqual([]);
  });

  it("answers at most maxBulkResponseBytes of documents and lists the rest to ask again", async () => {
    const received = new Set<string>();
    let asked = ids.slice(1);
    let requests = 0;
    while (asked.length > 0) {
      const answer = await bulk(asked);
      requests++;
      const bytes = answer.docs.reduce((n, d) => n + d.data.byteLength, 0);
      expect(answer.docs.length === 1 || bytes <= cap).toBe(true);
      expect(answer.docs.length).toBeGreaterThan(0);
      for (const d of answer.docs) received.add(d.id);
      expect([...answer.docs.map((d) => d.id), ...answer.more].sort()).toEqual([...asked].sort());
      asked = answer.more;
    }
    expect(requests).toBeGreaterThan(1);
    expect([...received].sort()).toEqual(ids.slice(1).sort());
  });

  it("sends a document larger than the limit alone", async () => {
    const answer = await bulk(ids);
    expect(answer.docs.map((d) => d.id)).toEqual([ids[0]]);
    expect(answer.docs[0]?.data.byteLength).toBeGreaterThan(cap);
    expect(answer.more).toEqual(ids.slice(1));
  });
});

describe("a client's first sync over the limit", () => {
  it("asks again for what did not fit and gets every document in bulk", async () => {
    const messages = async () => {
      const text = await (await fetch(`${relay.httpUrl}/metrics`)).text();
      let total = 0;
      for (const m of text.matchAll(/oms_relay_messages_in_total\{type="(sync|request)"\} (\d+)/g))
        total += Number(m[2]);
      return total;
    };
    const first = await createClient({ url: relay.url, token, storage: "memory" });
    const made: string[] = [];
    for (let i = 0; i < 12; i++)
      made.push((await first.quotes.create({ currency: "USD", projectName: `D${i}` })).id);
    await first.sync.now();
    await first.close();

    const device = tempDir();
    try {
      const before = await messages();
      const client = await createClient({ url: relay.url, token, storage: { folder: device.dir } });
      await client.sync.now();
      expect(client.sync.status).toMatchObject({ state: "complete" });
      // A sync per document would be a few messages each: bulk needs none for these.
      expect((await messages()) - before).toBeLessThan(15);
      const names = (await client.quotes.list()).map((q) => q.doc.projectName);
      expect(names.sort()).toEqual(made.map((_, i) => `D${i}`).sort());
      await client.close();
    } finally {
      device.remove();
    }
  });
});
