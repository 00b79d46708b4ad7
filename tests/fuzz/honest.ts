import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AutomergeUrl, type DocHandle, type PeerId, Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import { createClient, type OmsClient } from "../../src/client/index.js";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  type Quote,
} from "../../src/docs/index.js";
import { relayHeads, waitFor, waitStored } from "../integration/helpers.js";
import { markerOf, type Person, tokenFor } from "./cast.js";
import type { Findings } from "./findings.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connectRepo(
  url: string,
  person: Person,
  storage?: NodeFSStorageAdapter,
): Promise<{ repo: Repo; relayPeer: string }> {
  const adapter = new WebSocketClientAdapter(
    `${url}/?token=${encodeURIComponent(await tokenFor(person))}`,
    // Not shorter: the stock adapter opens a new socket every interval while one is pending, and
    // a slow relay would then see dozens per user (and answer 429, which the adapter throws).
    5_000,
  );
  const repo = new Repo({ network: [adapter], ...(storage ? { storage } : {}) });
  await waitFor(() => repo.peers.length > 0, `${person.user} to connect`, 30_000);
  return { repo, relayPeer: repo.peers[0] as string };
}

/** A quote of this person carrying their marker, stored by the relay. */
export async function ownedQuote(repo: Repo, relayPeer: string, person: Person) {
  const handle = repo.create<Quote>(
    createQuote({
      owner: asUserId(person.user),
      organization: asOrganizationId(person.org),
      currency: "USD",
      projectName: markerOf(person),
    }),
  );
  handle.change((q) => {
    addLineItem(q, { productCode: "DH-3046", quantity: 1, unitPrice: 100 });
    q.notes = markerOf(person);
  });
  await waitFor(
    async () => {
      try {
        return await waitStored(repo, handle as DocHandle<unknown>, relayPeer);
      } catch {
        return false;
      }
    },
    "a seed quote to be stored",
    60_000,
  );
  return handle;
}

/**
 * The well-behaved client: edits its quote every 300 ms; each edit must be stored by the relay
 * (its reported heads reach the edit) within `storeBoundMs`.
 */
export class SteadyEditor {
  edits = 0;
  stored = 0;
  maxStoreMs = 0;
  readonly #pending: { index: number; at: number }[] = [];
  readonly #index = new Map<string, number>();
  #running = true;
  #loop: Promise<void> | undefined;

  private constructor(
    readonly repo: Repo,
    readonly relayPeer: string,
    readonly handle: DocHandle<Quote>,
    readonly findings: Findings,
    readonly storeBoundMs: number,
  ) {}

  static async start(url: string, person: Person, findings: Findings, storeBoundMs: number) {
    const { repo, relayPeer } = await connectRepo(url, person);
    const handle = await ownedQuote(repo, relayPeer, person);
    const editor = new SteadyEditor(repo, relayPeer, handle, findings, storeBoundMs);
    editor.#loop = editor.#run();
    return editor;
  }

  async #run(): Promise<void> {
    let lastEdit = 0;
    while (this.#running) {
      const now = Date.now();
      if (now - lastEdit >= 300) {
        lastEdit = now;
        const index = this.edits++;
        this.handle.change((q) => {
          q.notes = `steady edit ${index}`;
        });
        for (const h of this.handle.heads()) this.#index.set(h, index);
        this.#pending.push({ index, at: now });
      }
      this.#check(now);
      await sleep(50);
    }
  }

  #check(now: number): void {
    const theirs = relayHeads(this.repo, this.handle as DocHandle<unknown>, this.relayPeer) ?? [];
    const reached = Math.max(-1, ...theirs.map((h) => this.#index.get(h) ?? -1));
    while (this.#pending.length) {
      const first = this.#pending[0] as { index: number; at: number };
      if (first.index <= reached) {
        this.maxStoreMs = Math.max(this.maxStoreMs, now - first.at);
        this.stored++;
      } else if (now - first.at > this.storeBoundMs) {
        this.findings.add(
          "editNotStored",
          `steady edit ${first.index} was not stored within ${this.storeBoundMs} ms (relay heads at edit ${reached})`,
          this.handle.documentId,
        );
      } else break;
      this.#pending.shift();
    }
  }

  /** Stops editing and waits for the last edits' bound. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    const deadline = Date.now() + this.storeBoundMs + 500;
    while (this.#pending.length && Date.now() < deadline) {
      this.#check(Date.now());
      await sleep(100);
    }
    this.#check(Date.now() + this.storeBoundMs + 1);
    await this.repo.shutdown();
  }
}

/** An honest device that drops its connection right after each write, then comes back. */
export class FlakyDevice {
  writes = 0;
  readonly #dir = mkdtempSync(join(tmpdir(), "oms-fuzz-flaky-"));
  #url: AutomergeUrl | undefined;
  #running = true;
  #loop: Promise<void> | undefined;
  failures = 0;

  constructor(
    readonly relayUrl: string,
    readonly person: Person,
  ) {}

  start(): void {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        const { repo, relayPeer } = await connectRepo(
          this.relayUrl,
          this.person,
          new NodeFSStorageAdapter(this.#dir),
        );
        const handle = this.#url
          ? await repo.find<Quote>(this.#url)
          : await ownedQuote(repo, relayPeer, this.person);
        this.#url = handle.url;
        handle.change((q) => {
          q.notes = `flaky write ${this.writes}`;
        });
        this.writes++;
        await sleep(Math.random() * 60);
        await repo.shutdown();
      } catch {
        this.failures++;
      }
      await sleep(400 + Math.random() * 800);
    }
  }

  /** Stops, then reconnects once: every write must reach the relay. */
  async finish(findings: Findings, timeoutMs: number): Promise<void> {
    this.#running = false;
    await this.#loop;
    if (!this.#url) {
      findings.add("flakyNotStored", "the flaky device never managed to create its quote");
      return;
    }
    const { repo, relayPeer } = await connectRepo(
      this.relayUrl,
      this.person,
      new NodeFSStorageAdapter(this.#dir),
    );
    try {
      const handle = await repo.find<Quote>(this.#url);
      await waitFor(
        () => {
          const theirs = relayHeads(repo, handle as DocHandle<unknown>, relayPeer);
          return !!theirs && handle.heads().every((h) => theirs.includes(h));
        },
        "the flaky device's writes to be stored",
        timeoutMs,
      );
    } catch (err) {
      findings.add(
        "flakyNotStored",
        `the flaky device's ${this.writes} writes were not all stored within ${timeoutMs} ms: ${String(err)}`,
        this.#url.slice("automerge:".length),
      );
    }
    await repo.shutdown();
    // Not at once: a Repo shut down earlier may still be writing its last save there.
    setTimeout(() => rmSync(this.#dir, { recursive: true, force: true }), 5_000).unref();
  }
}

/** A user of the oms-sync client who submits orders and asks for assistance, with a sync each. */
export class Submitter {
  readonly orders: string[] = [];
  readonly requests: string[] = [];
  readonly assistance: string[] = [];
  #running = true;
  #loop: Promise<void> | undefined;
  errors = 0;

  private constructor(
    readonly client: OmsClient,
    readonly person: Person,
  ) {}

  static async start(httpUrl: string, person: Person): Promise<Submitter> {
    const client = await createClient({
      url: httpUrl.replace(/^http/, "ws"),
      token: await tokenFor(person),
      storage: "memory",
      schedule: { backoffInitialMs: 100, backoffMaxMs: 1_000 },
    });
    const s = new Submitter(client, person);
    s.#loop = s.#run();
    return s;
  }

  async #run(): Promise<void> {
    let n = 0;
    while (this.#running) {
      try {
        if (n++ % 3 === 2) {
          const request = await this.client.assistance.create({
            subject: `Help ${n}`,
            body: `Fuzz-time request ${markerOf(this.person)}`,
          });
          this.assistance.push(request.id);
        } else {
          const order = await this.client.orders.create({
            currency: "USD",
            customer: { name: markerOf(this.person) },
            projectName: `Order ${n}`,
          });
          order.change((o) =>
            addLineItem(o, { productCode: "DH-3046", quantity: 2, unitPrice: 45_900 }),
          );
          this.orders.push(order.id);
          this.requests.push(await this.client.orders.submit(order.id));
        }
        await withTimeout(this.client.sync.now(), 20_000);
      } catch {
        this.errors++;
      }
      await sleep(1_500 + Math.random() * 1_500);
    }
  }

  /** Stops submitting; every request must have an outcome in the ledger within the bound. */
  async finish(findings: Findings, timeoutMs: number): Promise<{ decided: number }> {
    this.#running = false;
    await this.#loop;
    const undecided = async () => {
      const ledger = await this.client.ledger.get();
      return [
        ...this.requests.filter((r) => !ledger.submissions[r as never]),
        ...this.assistance.filter((a) => !ledger.assistance[a as never]),
      ];
    };
    const deadline = Date.now() + timeoutMs;
    let left = await undecided();
    while (left.length && Date.now() < deadline) {
      await withTimeout(this.client.sync.now(), 10_000).catch(() => {});
      await sleep(500);
      left = await undecided();
    }
    for (const id of left)
      findings.add(
        "undecidedRequest",
        `${this.person.user}'s request ${id} has no outcome in the ledger after ${timeoutMs} ms`,
      );
    await this.client.close();
    return { decided: this.requests.length + this.assistance.length - left.length };
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms),
    ),
  ]);
}

export type { PeerId };
