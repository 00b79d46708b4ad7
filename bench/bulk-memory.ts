/**
 * The relay's memory and responsiveness under one bulk request for 1,000 copies of one's own
 * large document id (docs/security.md, "Gate"): peak RSS during the request and the slowest
 * /healthz answer meanwhile.
 *
 *   node --expose-gc --import tsx bench/bulk-memory.ts
 */
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  type Quote,
} from "../src/docs/index.js";
import {
  relayHeads,
  startRelay,
  stockClient,
  tempDir,
  waitFor,
} from "../tests/integration/helpers.js";

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const rssMb = () => Math.round(process.memoryUsage().rss / 1_048_576);
const random = (n: number) =>
  Array.from({ length: n }, () => Math.random().toString(36).slice(2, 3)).join("");

const data = tempDir();
const relay = await startRelay(data.dir);
const token = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
const alice = stockClient(relay, token);
await waitFor(() => alice.repo.peers.length > 0, "alice to connect");
const handle = alice.repo.create<Quote>(
  createQuote({
    owner: asUserId("alice"),
    organization: asOrganizationId("acme"),
    currency: "USD",
  }),
);
handle.change((q) => {
  q.notes = random(100_000);
  // About 750 KB stored: 25 lines of 100 options of 450 random characters.
  for (let i = 0; i < 25; i++)
    addLineItem(q, {
      productCode: `P-${i}`,
      quantity: 1,
      unitPrice: 1_000,
      options: Object.fromEntries(Array.from({ length: 100 }, (_, k) => [`o${k}`, random(450)])),
    });
});
await waitFor(
  () => relayHeads(alice.repo, handle, relay.peerId)?.join() === handle.heads().join(),
  "the relay to store the document",
  300_000,
);
await alice.close();

gc();
const before = rssMb();
let peak = before;
let slowestHealthMs = 0;
let done = false;
const sampler = setInterval(() => {
  peak = Math.max(peak, rssMb());
}, 20);
const health = (async () => {
  while (!done) {
    const t = performance.now();
    await fetch(`${relay.httpUrl}/healthz`).catch(() => undefined);
    slowestHealthMs = Math.max(slowestHealthMs, performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
})();
const requestBytes = JSON.stringify({ ids: Array(1_000).fill(handle.documentId) }).length;
const started = performance.now();
let answerBytes: number | string;
try {
  const response = await fetch(`${relay.httpUrl}/v1/sync/bulk`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ ids: Array(1_000).fill(handle.documentId) }),
  });
  answerBytes = (await response.arrayBuffer()).byteLength;
} catch (err) {
  answerBytes = `failed: ${String((err as Error).cause ?? err)}`;
}
const seconds = (performance.now() - started) / 1000;
done = true;
await health;
clearInterval(sampler);
console.log(
  JSON.stringify({
    requestBytes,
    answerBytes,
    seconds,
    rssBeforeMb: before,
    rssPeakMb: peak,
    slowestHealthMs: Math.round(slowestHealthMs),
  }),
);
await relay.close();
data.remove();
process.exit(0);
