import * as A from "@automerge/automerge";
import {
  type DocHandle,
  type DocumentId,
  decodeHeads,
  type Repo,
} from "@automerge/automerge-repo/slim";
import { OmsError } from "../docs/errors.js";
import { sameHeads } from "../docs/heads.js";
import type { Ledger, Workspace, WorkspaceEntry } from "../docs/types.js";
import { myEntries } from "../docs/workspace.js";
import type { SessionResponse } from "./session.js";

/** Receipts per request to `POST /v1/restore/receipts` (the relay takes at most 2 000). */
const RECEIPTS_PER_PAGE = 1_000;

export interface RelayRestoreOptions {
  repo: Repo;
  /** The session this device worked with until now. */
  previous: SessionResponse;
  /** The session the relay just answered. */
  next: SessionResponse;
  /** Asks the relay for its session again (its heads now). */
  session(): Promise<SessionResponse>;
  /** POSTs JSON to the relay; undefined when it did not answer 2xx. */
  post(path: string, body: unknown): Promise<unknown | undefined>;
}

export interface RelayRestoreResult {
  /** "My" of the workspace the relay no longer knows: to be carried into the new workspace. */
  carry: Record<string, WorkspaceEntry>;
  /**
   * Relay-written documents this device holds ahead of the relay (it was restored from an older
   * copy): the device drops its copy and takes the relay's, which gets the learned entries back.
   */
  drop: string[];
}

const idOf = (url: string) => url.replace(/^automerge:/, "");

/**
 * Notices that the relay lost data this device holds, and hands it back before anything syncs:
 * - the relay answers other ids for the user's workspace, ledger and inbox (its data folder was
 *   deleted): the relay made new ones;
 * - the relay's copy of the ledger or inbox, which only the relay writes, is behind this
 *   device's (it was restored from an older backup).
 * Either way the device sends the sealed outcomes and tickets of its ledger, so the relay neither
 * decides a request again nor issues a number twice, and "My" is carried over to a new workspace.
 * Undefined when nothing was lost. Throws OFFLINE when the relay did not take the receipts: the
 * run must not go on, or the relay would decide those requests again.
 */
export async function reconcileRelayRestore(
  o: RelayRestoreOptions,
): Promise<RelayRestoreResult | undefined> {
  const { previous, next } = o;
  if (
    previous.user.userId !== next.user.userId ||
    previous.user.organization !== next.user.organization
  )
    return undefined;
  const before = previous.documents;
  const now = next.documents;
  const renewed = before.ledger !== now.ledger || before.workspace !== now.workspace;
  const ledger = await local<Ledger>(o.repo, before.ledger);
  const drop: string[] = [];
  if (!renewed) {
    const copies = [
      [before.ledger, ledger],
      [before.inbox, await local(o.repo, before.inbox)],
    ] as const;
    const lagging = (heads: Record<string, string[]>) =>
      copies.filter(([url, handle]) => handle && behind(handle, heads[url])).map(([url]) => url);
    // A change the relay wrote after answering may have reached this device over the socket
    // before the answer did: asked again, a relay that did not lose it is no longer behind.
    if (lagging(next.heads ?? {}).length === 0) return undefined;
    const again = await o.session();
    if (again.documents.ledger !== now.ledger) return undefined;
    drop.push(...lagging(again.heads ?? {}).map(idOf));
    if (drop.length === 0) return undefined;
  }
  if (ledger) await sendReceipts(o, ledger.doc());
  const carry: Record<string, WorkspaceEntry> = {};
  if (before.workspace !== now.workspace) {
    const workspace = await local<Workspace>(o.repo, before.workspace);
    for (const [id, entry] of Object.entries(workspace ? myEntries(workspace.doc()) : {}))
      carry[id] = { kind: entry.kind, addedAt: entry.addedAt };
  }
  return { carry, drop };
}

/** This device's copy, without asking the network (the socket may not be open yet). */
async function local<T>(repo: Repo, url: string): Promise<DocHandle<T> | undefined> {
  const id = idOf(url) as DocumentId;
  const handle =
    repo.handles[id] ??
    (await repo.find<T>(id, { allowableStates: ["ready", "unavailable"] }).catch(() => undefined));
  return handle?.isReady() ? (handle as DocHandle<T>) : undefined;
}

/** The relay's heads are an ancestor of this device's, and not the same: the relay lost changes. */
function behind(handle: DocHandle<unknown>, relayHeads: string[] | undefined): boolean {
  if (!relayHeads) return false;
  const theirs = decodeHeads(relayHeads as never);
  const mine = decodeHeads(handle.heads());
  return !sameHeads(theirs, mine) && A.hasHeads(handle.doc() as A.Doc<unknown>, theirs);
}

async function sendReceipts(o: RelayRestoreOptions, ledger: Ledger): Promise<void> {
  const sealed = <T extends { seal?: unknown }>(entries: Record<string, T>) =>
    Object.entries(entries).filter(([, e]) => e.seal !== undefined);
  const submissions = sealed(ledger.submissions ?? {});
  const assistance = sealed(ledger.assistance ?? {});
  const all = [
    ...submissions.map((e) => ["submissions", e] as const),
    ...assistance.map((e) => ["assistance", e] as const),
  ];
  for (let i = 0; i < all.length; i += RECEIPTS_PER_PAGE) {
    const body: Record<"submissions" | "assistance", Record<string, unknown>> = {
      submissions: {},
      assistance: {},
    };
    for (const [field, [id, entry]] of all.slice(i, i + RECEIPTS_PER_PAGE))
      body[field][id] = JSON.parse(JSON.stringify(entry));
    const answer = await o.post("/v1/restore/receipts", body).catch(() => undefined);
    if (answer === undefined) {
      throw new OmsError(
        "OFFLINE",
        "the relay lost data this device holds and has not taken back this device's receipts yet; the sync is retried, and nothing of this device is lost meanwhile",
      );
    }
  }
}
