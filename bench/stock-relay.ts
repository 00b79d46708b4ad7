// The baseline: a stock automerge-repo sync server (Repo + WebSocketServerAdapter + NodeFS), as
// the automerge-repo documentation sets one up. Prints "ready PORT" when listening.
import { type PeerId, Repo } from "@automerge/automerge-repo";
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import { WebSocketServer } from "ws";

const [dir = "./stock-data", port = "0"] = process.argv.slice(2);
const wss = new WebSocketServer({ port: Number(port), host: "127.0.0.1" });
await new Promise<void>((r) => wss.once("listening", () => r()));
new Repo({
  network: [new WebSocketServerAdapter(wss as never)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: "stock-relay" as PeerId,
  sharePolicy: async () => false,
});
process.stdout.write(`ready ${(wss.address() as { port: number }).port}\n`);
process.on("SIGTERM", () => process.exit(0));
