import { createWriteStream, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DocHandle, type PeerId, Repo } from "@automerge/automerge-repo";
import { ClientSocketAdapter } from "../../src/adapters/network-ws-client.js";
import { mintToken } from "../../src/relay/auth.js";
import { TEST_SECRET, waitFor } from "../integration/helpers.js";
import { type RelayProcess, spawnRelay } from "../integration/relay-process.js";
import { services } from "../integration/services.js";

const secret = new TextEncoder().encode(TEST_SECRET);

/** A relay node process of a test deployment, restartable on the same port. */
export interface TestNode {
  readonly name: string;
  process: RelayProcess;
  /** Starts the node again after it died (same port, same arguments). */
  restart(): Promise<void>;
}

export interface DeploymentOptions {
  /** The PostgreSQL URL each node reaches the shared database by (a proxy's for some). */
  databases: string[];
  /** The bus URL of each node (a proxy's for the ones a test cuts off). */
  busUrls: string[];
  recheckMs?: number;
  env?: Record<string, string>;
  extraArgs?: string[];
  /** Starts the nodes one after the other (a loaded machine starts three at once slowly). */
  oneAtATime?: boolean;
}

export async function startNodes(options: DeploymentOptions): Promise<TestNode[]> {
  let previous: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(start: () => Promise<T>): Promise<T> => {
    if (!options.oneAtATime) return start();
    const next = previous.then(start, start);
    previous = next;
    return next;
  };
  return Promise.all(
    options.busUrls.map(async (busUrl, i) => {
      const database = options.databases[i] as string;
      const name = `node-${String.fromCharCode(97 + i)}`;
      const args = [
        "--node-id",
        name,
        "--bus",
        busUrl,
        "--recheck-ms",
        String(options.recheckMs ?? 500),
        "--database",
        database,
        ...(options.extraArgs ?? []),
      ];
      // The data folder holds nothing shared (the secret comes from the environment).
      const dataDir = mkdtempSync(join(tmpdir(), `oms-${name}-`));
      const node: TestNode = {
        name,
        process: keepLog(name, await inTurn(() => spawnRelay(dataDir, args, 0, options.env ?? {}))),
        async restart() {
          node.process = keepLog(
            name,
            await spawnRelay(dataDir, args, node.process.port, options.env ?? {}),
          );
        },
      };
      return node;
    }),
  );
}

/**
 * With OMS_CLUSTER_LOG_DIR set, appends everything a node writes to `<dir>/<node>.log` (across
 * its restarts): a failure's last lines seldom show why an outcome never came.
 */
function keepLog(name: string, relay: RelayProcess): RelayProcess {
  const dir = process.env.OMS_CLUSTER_LOG_DIR;
  if (!dir) return relay;
  const file = createWriteStream(join(dir, `${name}.log`), { flags: "a" });
  relay.child.stdout?.pipe(file, { end: false });
  relay.child.stderr?.pipe(file, { end: false });
  return relay;
}

export function token(user: string, roles: string[] = ["rep"], org = "acme"): Promise<string> {
  return mintToken(secret, { sub: user, org, roles, offline: true });
}

/** An acme admin ("boss") gives a document to `owner` through `node`'s admin API: the status. */
export async function reassign(node: TestNode, documentId: string, owner: string): Promise<number> {
  const res = await fetch(`${node.process.httpUrl}/v1/admin/documents/${documentId}/reassign`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${await token("boss", ["admin"])}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ owner, reason: "territory change" }),
  });
  return res.status;
}

/** A client device: a Repo on oms-sync's socket adapter, reconnecting after a drop. */
export interface Device {
  readonly user: string;
  readonly repo: Repo;
  node: TestNode;
  /** Close codes of every socket this device lost. */
  closes: number[];
  /** Goes offline until `resume`. */
  pause(): void;
  resume(): void;
  close(): void;
}

export interface DeviceOptions {
  roles?: string[];
  /** The user's organization (default "acme"). */
  org?: string;
  /** How long the first connection may take (default 10 s; a loaded machine needs more). */
  connectTimeoutMs?: number;
  /**
   * Nodes to reconnect to after a drop, in turn (as a load balancer would send it elsewhere);
   * without them the device reconnects to its node.
   */
  failover?: TestNode[];
}

export async function device(
  node: TestNode,
  user: string,
  options: DeviceOptions = {},
): Promise<Device> {
  const t = await token(user, options.roles, options.org);
  let stopped = false;
  const d = { user, node, closes: [] as number[] } as unknown as Device & { repo: Repo };
  const adapter: ClientSocketAdapter = new ClientSocketAdapter({
    url: () => `${d.node.process.url}/?token=${t}`,
    onEvent: (event) => {
      if (event.type !== "closed") return;
      d.closes.push(event.code);
      const pool = options.failover;
      if (pool && pool.length > 0)
        d.node = pool[(pool.indexOf(d.node) + 1) % pool.length] as TestNode;
      if (!stopped) setTimeout(() => !stopped && adapter.open(), 100);
    },
  });
  d.repo = new Repo({ network: [adapter] });
  d.pause = () => {
    stopped = true;
    adapter.close();
  };
  d.resume = () => {
    stopped = false;
    adapter.open();
  };
  d.close = d.pause;
  await waitFor(
    () => d.repo.peers.length > 0,
    `${user} to connect to ${node.name}`,
    options.connectTimeoutMs,
  );
  return d;
}

/** True when the relay this device talks to reported storing the handle at the device's heads. */
export function storedByRelay(repo: Repo, handle: DocHandle<unknown>): boolean {
  const peer = repo.peers[0];
  const storageId = peer ? repo.getStorageIdOfPeer(peer as PeerId) : undefined;
  const theirs = storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined;
  const mine = handle.heads();
  return !!theirs && theirs.length === mine.length && mine.every((h) => theirs.includes(h));
}

export const sortedHeads = (handle: DocHandle<unknown>) => [...handle.heads()].sort().join(",");

export { services };

/** `url` with its host and port replaced by `address` (a TCP proxy's). */
export function through(url: string, address: string): string {
  const u = new URL(url);
  u.host = address;
  return u.toString();
}

/** What `GET /v1/session` tells a user on a node: a relay-time receipt and their documents. */
export async function sessionOn(
  node: TestNode,
  user: string,
  org = "acme",
): Promise<{ receipt: string; ledger: string }> {
  const authorization = `Bearer ${await token(user, ["rep"], org)}`;
  // A busy node may answer 503 for a moment (its store check): ask again, as a client would.
  const body = await waitFor(
    async () => {
      const res = await fetch(`${node.process.httpUrl}/v1/session`, {
        headers: { authorization },
      }).catch(() => undefined);
      if (res?.status === 200)
        return (await res.json()) as {
          relayTime: { receipt: string };
          documents: { ledger: string };
        };
      await new Promise((r) => setTimeout(r, 250));
      return undefined;
    },
    `a session for ${user} on ${node.name}`,
    30_000,
  );
  return { receipt: body.relayTime.receipt, ledger: body.documents.ledger };
}

/**
 * SIGKILLs one node at a time at seeded random moments, restarting each after a random pause,
 * until `stop` (which waits for the node down, if any, to be back).
 */
export function killAtRandom(
  nodes: readonly TestNode[],
  random: () => number,
  timing: { minGapMs: number; maxGapMs: number; maxDownMs: number },
): { stop(): Promise<{ kills: string[] }> } {
  const kills: string[] = [];
  let running = true;
  let wake: () => void = () => undefined;
  const sleep = (ms: number) =>
    new Promise<void>((res) => {
      const t = setTimeout(res, ms);
      wake = () => {
        clearTimeout(t);
        res();
      };
    });
  // A failure (a restart that timed out) ends the loop and is thrown by `stop`, not left unhandled.
  const loop = (async () => {
    while (running) {
      await sleep(timing.minGapMs + random() * (timing.maxGapMs - timing.minGapMs));
      if (!running) break;
      const victim = nodes[Math.floor(random() * nodes.length)] as TestNode;
      victim.process.child.kill("SIGKILL");
      const { signal } = await victim.process.exited;
      if (signal !== "SIGKILL")
        throw new Error(`${victim.name} exited with ${signal}, not SIGKILL`);
      kills.push(victim.name);
      await new Promise((res) => setTimeout(res, random() * timing.maxDownMs));
      // On a loaded machine a start can overrun spawnRelay's limit (which kills it): try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await victim.restart();
          break;
        } catch (err) {
          if (attempt === 3) throw err;
        }
      }
    }
  })().then(
    () => undefined,
    (err: unknown) => err,
  );
  return {
    async stop() {
      running = false;
      wake();
      const failed = await loop;
      if (failed) throw failed;
      return { kills };
    },
  };
}
