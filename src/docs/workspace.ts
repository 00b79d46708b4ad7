import type { DocId, MessageId, OrganizationId, UserId } from "./ids.js";
import { SCHEMA_VERSION } from "./kinds.js";
import { own } from "./own.js";
import type { Workspace, WorkspaceEntry } from "./types.js";

export function createWorkspace(input: { owner: UserId; organization: OrganizationId }): Workspace {
  return {
    kind: "workspace",
    schemaVersion: SCHEMA_VERSION,
    owner: input.owner,
    organization: input.organization,
    my: {},
    read: {},
  };
}

/** Puts a document into the user's "My" index (kept on offline devices). */
export function addToMy(
  doc: Workspace,
  id: DocId,
  kind: WorkspaceEntry["kind"],
  now = Date.now(),
): void {
  if (own(doc.my, id)?.kind === kind) return;
  doc.my[id] = { kind, addedAt: now };
}

export function removeFromMy(doc: Workspace, id: DocId): void {
  if (own(doc.my, id)) delete doc.my[id];
}

/** Marks an inbox message read; marking it again keeps the first time. */
export function markRead(doc: Workspace, id: MessageId, now = Date.now()): void {
  if (own(doc.read, id) === undefined) doc.read[id] = now;
}
