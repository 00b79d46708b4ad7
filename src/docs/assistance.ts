import { updateText } from "@automerge/automerge";
import type { OrganizationId, UserId } from "./ids.js";
import { SCHEMA_VERSION } from "./kinds.js";
import { assistanceSchema } from "./schema.js";
import type { AssistanceRequest, RelatedDocument } from "./types.js";
import { checkInputs } from "./validate-input.js";

export interface NewAssistanceRequest {
  owner: UserId;
  organization: OrganizationId;
  subject: string;
  body?: string;
  related?: RelatedDocument | null;
  now?: number;
}

const f = assistanceSchema.entries;

/** The initial content of a help request about a project, for `repo.create(…)`. Works offline. */
export function createAssistanceRequest(input: NewAssistanceRequest): AssistanceRequest {
  checkInputs([
    ["owner", f.owner, input.owner],
    ["organization", f.organization, input.organization],
    ["subject", f.subject, input.subject],
    ["body", f.body, input.body ?? ""],
    ["related", f.related, input.related ?? null],
  ]);
  const now = input.now ?? Date.now();
  return {
    kind: "assistance",
    schemaVersion: SCHEMA_VERSION,
    owner: input.owner,
    organization: input.organization,
    subject: input.subject,
    body: input.body ?? "",
    related: input.related ? { kind: input.related.kind, id: input.related.id } : null,
    createdBy: input.owner,
    createdAt: now,
  };
}

/** Edits the request's body as text, merging with concurrent edits. */
export function setAssistanceBody(doc: AssistanceRequest, body: string): void {
  checkInputs([["body", f.body, body]]);
  updateText(doc, ["body"], body);
}
