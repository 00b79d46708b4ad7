// A Node client as its own process, to be killed mid-sync by client-crash.test.ts.
// Usage: tsx tests/integration/client-process.ts <relay url> <token> <folder> <quotes> [killAt]
// With 0 quotes it only syncs once (a first start needs the relay); otherwise it writes the
// quotes (offline or not), says SAVED with their ids, and syncs until it can. With killAt, it
// SIGKILLs itself once the sync run has that many documents done: a crash mid-sync (with 0
// quotes, in the middle of a first sync). OMS_BULK_PAGE sets the first sync's page size.
import { createClient } from "../../src/client/index.js";
import { addLineItem } from "../../src/docs/index.js";

const [url, token, folder, count, killAt] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string | undefined,
];
const client = await createClient({
  url,
  token,
  storage: { folder },
  schedule: {
    backoffInitialMs: 50,
    backoffMaxMs: 100,
    connectTimeoutMs: 60_000,
    ...(process.env.OMS_BULK_PAGE ? { bulkPageDocuments: Number(process.env.OMS_BULK_PAGE) } : {}),
  },
});
const killWhenDone = () => {
  if (!killAt) return;
  client.sync.subscribe(({ state, progress }) => {
    if (state === "syncing" && progress.documentsDone >= Number(killAt)) {
      process.stdout.write(`KILLED ${progress.documentsDone}/${progress.documentsTotal}\n`);
      process.kill(process.pid, "SIGKILL");
    }
  });
};
if (Number(count) === 0) {
  killWhenDone();
  await client.sync.now();
} else {
  const ids: string[] = [];
  for (let i = 0; i < Number(count); i++) {
    const quote = await client.quotes.create({ currency: "USD", projectName: `Quote ${i}` });
    quote.change((q) => {
      addLineItem(q, { productCode: `P-${i}`, quantity: i + 1, unitPrice: 1_000 + i });
    });
    ids.push(quote.id);
  }
  // automerge-repo writes changes after a short debounce: past it, every edit is on the device.
  await new Promise((r) => setTimeout(r, 500));
  process.stdout.write(`SAVED ${JSON.stringify(ids)}\n`);
  killWhenDone();
  for (;;) {
    try {
      await client.sync.now();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
process.stdout.write("SYNCED\n");
await client.close();
