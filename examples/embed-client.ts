// A front end's use of oms-sync, runnable in Node: `npm run example:client`.
// It starts a relay in a temporary folder, signs in an offline rep, writes a quote with the
// relay stopped, and syncs it once the relay is back.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addLineItem, createClient, documentTotals, formatMoney } from "oms-sync";
import { createRelay } from "oms-sync/relay";

const folder = mkdtempSync(join(tmpdir(), "oms-example-"));
let relay = await createRelay({ port: 0, dataDir: join(folder, "relay"), logLevel: "warn" });
const port = relay.port;
const token = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });

// 1. Sign in while connected: the session is saved on the device for offline starts.
let client = await createClient({
  url: relay.url,
  token,
  storage: { folder: join(folder, "device") },
});
client.sync.subscribe((s) =>
  console.log(`sync: ${s.state} ${s.progress.documentsDone}/${s.progress.documentsTotal}`),
);
await client.sync.now();
await client.close();

// 2. No connection: the rep keeps working.
await relay.close();
client = await createClient({ url: relay.url, token, storage: { folder: join(folder, "device") } });
const quote = await client.quotes.create({
  currency: "USD",
  projectName: "Lake house",
  customer: { name: "Hansen Homes" },
});
quote.change((q) => {
  addLineItem(q, {
    productCode: "DH-3046",
    description: "Double hung",
    quantity: 4,
    unitPrice: 45_900,
    discountBp: 500,
  });
  addLineItem(q, {
    productCode: "SL-6080",
    description: "Sliding door",
    quantity: 1,
    unitPrice: 189_000,
  });
});
console.log(`offline quote total: ${formatMoney(documentTotals(quote.doc()).total)}`);
console.log(`gate: ${client.gate.state.level}, ${client.gate.state.daysLeft} days left`);

// 3. The relay is back: one call brings everything to "complete".
relay = await createRelay({ port, dataDir: join(folder, "relay"), logLevel: "warn" });
await client.sync.now();
console.log(`synced: ${client.sync.status.state}, pending ${client.sync.status.pendingDocuments}`);

await client.close();
await relay.close();
rmSync(folder, { recursive: true, force: true });
