import type { Patch } from "@automerge/automerge";
import type { DocId, MessageId, OrganizationId, UserId } from "./ids.js";
import { SCHEMA_VERSION } from "./kinds.js";
import { own } from "./own.js";
import type { Workspace, WorkspaceEntry } from "./types.js";

// Automerge copies every map a change touches (its documents are immutable JS objects), and
// finding the path of a new entry walks its map: one map of 10,000 entries made adding one cost
// 11 to 35 ms. "My" is therefore kept in parts of a few hundred entries each. The parts are
// created with the workspace, by one writer: two devices creating the same map concurrently
// would each make their own, and one of them (with the entries in it) would lose the merge.

/** The 58 characters a document id (base58check) ends with: the names of the parts of "My". */
const PART_NAMES = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** The part of "My" an id belongs in: its last character, uniform over base58 ids. */
export function myPartOf(id: string): string {
  return id.charAt(id.length - 1);
}

export function createWorkspace(input: { owner: UserId; organization: OrganizationId }): Workspace {
  const myParts: Record<string, Record<DocId, WorkspaceEntry>> = {};
  for (const name of PART_NAMES) myParts[name] = {};
  return {
    kind: "workspace",
    schemaVersion: SCHEMA_VERSION,
    owner: input.owner,
    organization: input.organization,
    my: {},
    myParts,
    read: {},
  };
}

/** The map an entry for `id` is written to: its part, or the flat "My" of an older workspace. */
function writableMapFor(doc: Workspace, id: DocId): Record<DocId, WorkspaceEntry> {
  const parts = doc.myParts;
  return (parts && own(parts, myPartOf(id))) ?? doc.my;
}

/** The "My" entry of one document, wherever it is kept (a part, or the flat map). */
export function myEntry(doc: Workspace, id: string): WorkspaceEntry | undefined {
  const part = doc.myParts ? own(doc.myParts, myPartOf(id)) : undefined;
  return (part ? own(part, id) : undefined) ?? own(doc.my, id);
}

/** Every "My" entry, from the parts and from the flat map older workspaces (and clients) write. */
export function myEntries(doc: Workspace): Record<string, WorkspaceEntry> {
  const all: Record<string, WorkspaceEntry> = { ...doc.my };
  for (const part of Object.values(doc.myParts ?? {})) Object.assign(all, part);
  return all;
}

/** The ids in "My". */
export function myIds(doc: Workspace): string[] {
  const ids = Object.keys(doc.my);
  for (const part of Object.values(doc.myParts ?? {})) ids.push(...Object.keys(part));
  return [...new Set(ids)];
}

/** Puts a document into the user's "My" index (kept on offline devices). */
export function addToMy(
  doc: Workspace,
  id: DocId,
  kind: WorkspaceEntry["kind"],
  now = Date.now(),
): void {
  const target = writableMapFor(doc, id);
  if (own(target, id)?.kind === kind) return;
  // An entry of another kind in the flat map moves to the part, so one id has one entry.
  if (target !== doc.my && own(doc.my, id)) delete doc.my[id];
  target[id] = { kind, addedAt: now };
}

export function removeFromMy(doc: Workspace, id: DocId): void {
  const target = writableMapFor(doc, id);
  if (own(target, id)) delete target[id];
  if (target !== doc.my && own(doc.my, id)) delete doc.my[id];
}

/**
 * The ids a workspace change added to and removed from "My", read from its patches (flat map and
 * parts alike); undefined when the patches replace "My" or a part whole, and only a full
 * comparison can tell. An id moved from the flat map to its part shows as removed and added.
 */
export function myChanges(
  patches: readonly Patch[],
): { added: string[]; removed: string[] } | undefined {
  const added: string[] = [];
  const removed: string[] = [];
  for (const patch of patches) {
    const [top, a, b] = patch.path;
    if (patch.path.length === 0) return undefined;
    // The entry's id and how deep the patch is below it.
    let id: string | number | undefined;
    let depth: number;
    if (top === "my") [id, depth] = [a, patch.path.length - 2];
    else if (top === "myParts") {
      // A part created (empty, with its workspace) is not a change of "My"; a part replaced or
      // deleted whole is one the patches do not spell out.
      if (patch.path.length === 1) return undefined;
      if (patch.path.length === 2) {
        if (patch.action === "put" && isEmptyMap(patch.value)) continue;
        return undefined;
      }
      [id, depth] = [b, patch.path.length - 3];
    } else continue;
    if (typeof id !== "string") return undefined;
    if (depth > 0) continue;
    if (patch.action === "del") removed.push(id);
    else if (patch.action === "put") added.push(id);
    else return undefined;
  }
  const kept = new Set(added);
  return { added, removed: removed.filter((id) => !kept.has(id)) };
}

const isEmptyMap = (value: unknown) =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).length === 0;

/** Marks an inbox message read; marking it again keeps the first time. */
export function markRead(doc: Workspace, id: MessageId, now = Date.now()): void {
  if (own(doc.read, id) === undefined) doc.read[id] = now;
}
