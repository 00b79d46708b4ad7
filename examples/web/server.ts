import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import type { ViteDevServer } from "vite";
import { createRelay, type Relay } from "../../src/relay/index.js";
import { buildPage, viteConfigFile } from "./build.js";

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

export interface ExampleOptions {
  dataDir: string;
  webPort?: number;
  relayPort?: number;
  /**
   * "dev": Vite's dev server (modules on demand, reload on edit; `npm run example`).
   * "build": the production build (`vite build`), served as static files; what the browser
   * tests and the page-load bench use. Default "build".
   */
  mode?: "dev" | "build";
  /** With mode "build": serve this folder, already built, instead of building now. */
  prebuilt?: string;
}

const types: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  // Served as wasm, the browser compiles it while it downloads (instantiateStreaming).
  ".wasm": "application/wasm",
};

/** Serves one file of the production build; hashed assets may be cached for good. */
async function serveStatic(dist: string, path: string, res: ServerResponse): Promise<void> {
  const file = normalize(join(dist, path === "/" ? "index.html" : path.slice(1)));
  if (!file.startsWith(dist)) return void res.writeHead(404).end();
  try {
    const body = await readFile(file);
    res.writeHead(200, {
      "content-type": types[extname(file)] ?? "application/octet-stream",
      "cache-control": path.startsWith("/assets/")
        ? "public, max-age=31536000, immutable"
        : "no-cache",
    });
    res.end(body);
  } catch {
    res.writeHead(404).end("not found");
  }
}

/** Starts the relay (embedded database in `dataDir`) and serves the page and the demo users. */
export async function startExample(options: ExampleOptions): Promise<Example> {
  const mode = options.mode ?? "build";
  const dist = mode === "build" ? normalize(options.prebuilt ?? (await buildPage())) : "";
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
  let vite: ViteDevServer | undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] as string;
    // Demo controls: stop and start the relay while the page keeps being served.
    if (path === "/demo/relay/stop" || path === "/demo/relay/start") {
      if (path.endsWith("stop")) await example.stopRelay();
      else await example.startRelay();
      res.writeHead(200, { "content-type": "text/plain" });
      return void res.end(`relay ${path.endsWith("stop") ? "stopped" : "started"}\n`);
    }
    if (path === "/demo.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      return void res.end(JSON.stringify({ relayUrl, users: tokens }));
    }
    if (vite) return vite.middlewares(req, res);
    await serveStatic(dist, path, res);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err));
    });
  });
  if (mode === "dev") {
    const { createServer: createViteServer } = await import("vite");
    vite = await createViteServer({
      configFile: viteConfigFile,
      // Vite answers inside this server, beside the demo's endpoints; its reload socket too.
      server: { middlewareMode: true, hmr: { server } },
      appType: "spa",
    });
  }
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
      await vite?.close();
      await relay?.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return example;
}

// `npm run example` (Vite's dev server) or `npm run example:prod` (the production build):
// relay and page, until Ctrl-C.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const example = await startExample({
    dataDir: process.env.OMS_EXAMPLE_DATA ?? join(process.cwd(), "data", "example"),
    webPort: Number(process.env.PORT ?? 5173),
    // A fixed relay port: the page remembers the relay's address for offline reloads.
    relayPort: Number(process.env.OMS_EXAMPLE_RELAY_PORT ?? 3031),
    mode: process.argv.includes("--prod") ? "build" : "dev",
  });
  process.stdout.write(
    `oms-sync example: open ${example.url} (relay ${example.relay?.url})\n` +
      `  stop the relay: ${example.url}demo/relay/stop   start it again: ${example.url}demo/relay/start\n`,
  );
  const stop = () => void example.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
