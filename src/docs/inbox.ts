import type { MessageId, OrganizationId, UserId } from "./ids.js";
import { SCHEMA_VERSION } from "./kinds.js";
import { own } from "./own.js";
import type { Inbox, InboxMessage } from "./types.js";

export function createInbox(input: { owner: UserId; organization: OrganizationId }): Inbox {
  return {
    kind: "inbox",
    schemaVersion: SCHEMA_VERSION,
    owner: input.owner,
    organization: input.organization,
    messages: {},
  };
}

/** Posts a message (relay only). Posting the same id again is a no-op, so retries are safe. */
export function postMessage(doc: Inbox, id: MessageId, message: InboxMessage): void {
  if (own(doc.messages, id) !== undefined) return;
  doc.messages[id] = { ...message, ref: message.ref ? { ...message.ref } : null };
}
