import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRelay, type Relay } from "../../src/relay/index.js";
import { buildPage } from "./build.js";

const here = fileURLToPath(new URL(".", import.meta.url));

/** The demo users the page offers; the relay signs their tokens. */
export const demoUsers = [
  { sub: "alice", name: "Alice (rep, offline)", org: "acme", roles: ["rep"], offline: true },
  { sub: "mona", name: "Mona (manager)", org: "acme", roles: ["manager"], offline: true },
  { sub: "bob", name: "Bob (rep, online only)", org: "acme", roles: ["rep"], offline: false },
  { sub: "oscar", name: "Oscar (other dealer)", org: "globex", roles: ["rep"], offline: true },
];

export interface Example {
  url: string;
  relay: Relay | undefined;
  stopRelay(): Promise<void>;
  startRelay(): Promise<void>;
  close(): Promise<void>;
}

const types: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".map": "application/json",
};

/** Starts the relay (embedded database in `dataDir`) and serves the page and the demo users. */
export async function startExample(options: {
  dataDir: string;
  webPort?: number;
  relayPort?: number;
}): Promise<Example> {
  const dist = await buildPage();
  let relay: Relay | undefined = await createRelay({
    port: options.relayPort ?? 0,
    dataDir: options.dataDir,
    logLevel: "warn",
  });
  const relayPort = relay.port;
  const relayUrl = relay.url;
  const tokens = await Promise.all(
    demoUsers.map(async (u) => ({
      ...u,
      token: await (relay as Relay).mintToken({ ...u, ttl: "30d" }),
    })),
  );
  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0] as string;
    // Demo controls: stop and start the relay while the page keeps being served.
    if (path === "/demo/relay/stop" || path === "/demo/relay/start") {
      if (path.endsWith("stop")) await example.stopRelay();
      else await example.startRelay();
      res.writeHead(200, { "content-type": "text/plain" });
      return void res.end(`relay ${path.endsWith("stop") ? "stopped" : "started"}\n`);
    }
    if (path === "/demo.json") {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ relayUrl, users: tokens }));
    }
    const file =
      path === "/"
        ? join(here, "index.html")
        : path.startsWith("/dist/")
          ? join(dist, path.slice(6))
          : join(here, path.slice(1));
    if (!file.startsWith(here)) return void res.writeHead(404).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((r) => server.listen(options.webPort ?? 0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  const example: Example = {
    url: `http://127.0.0.1:${port}/`,
    get relay() {
      return relay;
    },
    async stopRelay() {
      await relay?.close();
      relay = undefined;
    },
    async startRelay() {
      relay ??= await createRelay({ port: relayPort, dataDir: options.dataDir, logLevel: "warn" });
    },
    async close() {
      await relay?.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return example;
}

// `npm run example`: relay and page, until Ctrl-C.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const example = await startExample({
    dataDir: process.env.OMS_EXAMPLE_DATA ?? join(process.cwd(), "data", "example"),
    webPort: Number(process.env.PORT ?? 5173),
    // A fixed relay port: the page remembers the relay's address for offline reloads.
    relayPort: Number(process.env.OMS_EXAMPLE_RELAY_PORT ?? 3031),
  });
  process.stdout.write(
    `oms-sync example: open ${example.url} (relay ${example.relay?.url})\n` +
      `  stop the relay: ${example.url}demo/relay/stop   start it again: ${example.url}demo/relay/start\n`,
  );
  const stop = () => void example.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
