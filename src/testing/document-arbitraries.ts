import * as A from "@automerge/automerge";
import fc from "fast-check";
import { createAssistanceRequest } from "../docs/assistance.js";
import type { DocId, MessageId, OrganizationId, RequestId, UserId } from "../docs/ids.js";
import { createInbox, postMessage } from "../docs/inbox.js";
import { createLedger, recordAssistanceReceipt, recordSubmissionOutcome } from "../docs/ledger.js";
import { addSubmissionRequest, createOrder } from "../docs/order.js";
import { createOrganization } from "../docs/organization.js";
import { createQuote } from "../docs/quote.js";
import type {
  AssistanceRequest,
  Inbox,
  Ledger,
  Order,
  Organization,
  Quote,
  Workspace,
} from "../docs/types.js";
import { addToMy, createWorkspace, markRead } from "../docs/workspace.js";
import { applyDocumentAction } from "./apply-action.js";
import { arbDocumentAction, arbOrganizationId, arbUserId } from "./arbitraries.js";

// Documents of every kind, valid by construction: built through the library's own constructors
// and mutations, so each is a state a correct client (or the relay) can reach.

const arbText = () => fc.string({ maxLength: 12 });
const arbId = () => fc.stringMatching(/^[A-Za-z0-9]{8,12}$/);
const arbTime = () => fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 });
const arbCurrency = () => fc.constantFrom("USD", "EUR", "CAD");

/** A quote after a sequence of user actions, as an Automerge document. */
export const arbQuote = (): fc.Arbitrary<A.Doc<Quote>> =>
  fc
    .record({
      owner: arbUserId(),
      organization: arbOrganizationId(),
      currency: arbCurrency(),
      actions: fc.array(arbDocumentAction(), { maxLength: 12 }),
    })
    .map(({ owner, organization, currency, actions }) => {
      let doc = A.from(
        createQuote({ owner, organization, currency, now: 1 }) as unknown as Record<
          string,
          unknown
        >,
      ) as A.Doc<Quote>;
      for (const action of actions) doc = A.change(doc, (d) => applyDocumentAction(d, action));
      return doc;
    });

/** An order after user actions, with submission requests among them. */
export const arbOrder = (): fc.Arbitrary<A.Doc<Order>> =>
  fc
    .record({
      owner: arbUserId(),
      organization: arbOrganizationId(),
      currency: arbCurrency(),
      actions: fc.array(fc.option(arbDocumentAction(), { nil: "submit" as const, freq: 5 }), {
        maxLength: 12,
      }),
    })
    .map(({ owner, organization, currency, actions }) => {
      let doc = A.from(
        createOrder({ owner, organization, currency, now: 1 }) as unknown as Record<
          string,
          unknown
        >,
      ) as A.Doc<Order>;
      for (const action of actions) {
        const heads = A.getHeads(doc);
        doc = A.change(doc, (d) =>
          action === "submit"
            ? void addSubmissionRequest(d, { requestedBy: owner, heads, lastSyncAt: 1, now: 2 })
            : applyDocumentAction(d, action),
        );
      }
      return doc;
    });

export const arbAssistanceRequest = (): fc.Arbitrary<AssistanceRequest> =>
  fc
    .record({
      owner: arbUserId(),
      organization: arbOrganizationId(),
      subject: arbText(),
      body: arbText(),
      related: fc.option(
        fc.record({
          kind: fc.constantFrom("quote" as const, "order" as const),
          id: arbId().map((s) => s as DocId),
        }),
        { nil: null },
      ),
      now: arbTime(),
    })
    .map((input) => createAssistanceRequest(input));

export const arbWorkspace = (): fc.Arbitrary<Workspace> =>
  fc
    .record({
      owner: arbUserId(),
      organization: arbOrganizationId(),
      my: fc.uniqueArray(
        fc.tuple(
          arbId(),
          fc.constantFrom("quote" as const, "order" as const, "assistance" as const),
        ),
        { maxLength: 6 },
      ),
      read: fc.array(arbId(), { maxLength: 4 }),
    })
    .map(({ owner, organization, my, read }) => {
      const doc = createWorkspace({ owner, organization });
      for (const [id, kind] of my) addToMy(doc, id as DocId, kind, 5);
      for (const id of read) markRead(doc, id as MessageId, 6);
      return doc;
    });

export const arbLedger = (): fc.Arbitrary<Ledger> =>
  fc
    .record({
      owner: arbUserId(),
      organization: arbOrganizationId(),
      // One outcome and one ticket per request: the ledger refuses a second, different one.
      outcomes: fc.uniqueArray(
        fc.tuple(arbId(), arbId(), fc.constantFrom("accepted" as const, "rejected" as const)),
        { maxLength: 5, selector: ([requestId]) => requestId },
      ),
      tickets: fc.uniqueArray(arbId(), { maxLength: 3 }),
    })
    .map(({ owner, organization, outcomes, tickets }) => {
      const doc = createLedger({ owner, organization });
      outcomes.forEach(([requestId, orderId, status], i) => {
        recordSubmissionOutcome(
          doc,
          requestId as RequestId,
          status === "accepted"
            ? {
                status,
                orderId: orderId as DocId,
                processedAt: 10 + i,
                revision: 1,
                orderNumber: `SO-${i}`,
                heads: [],
              }
            : {
                status,
                orderId: orderId as DocId,
                processedAt: 10 + i,
                code: "INCOMPLETE",
                reason: "no lines",
              },
        );
      });
      tickets.forEach((id, i) => {
        recordAssistanceReceipt(doc, id as DocId, {
          ticketNumber: `T-${i}`,
          state: "open",
          receivedAt: 20 + i,
        });
      });
      return doc;
    });

export const arbInbox = (): fc.Arbitrary<Inbox> =>
  fc
    .record({
      owner: arbUserId(),
      organization: arbOrganizationId(),
      messages: fc.uniqueArray(fc.tuple(arbId(), arbText(), arbText(), arbTime()), {
        maxLength: 5,
        selector: ([id]) => id,
      }),
    })
    .map(({ owner, organization, messages }) => {
      const doc = createInbox({ owner, organization });
      for (const [id, subject, body, at] of messages)
        postMessage(doc, id as MessageId, { at, subject, body, ref: null });
      return doc;
    });

export const arbOrganization = (): fc.Arbitrary<Organization> =>
  fc
    .record({
      organization: arbOrganizationId(),
      name: arbText(),
      priceListVersion: arbText(),
      members: fc.array(fc.tuple(arbUserId(), fc.subarray(["rep", "manager", "admin"])), {
        maxLength: 4,
      }),
    })
    .map(({ organization, name, priceListVersion, members }) => {
      const doc = createOrganization({
        organization: organization as OrganizationId,
        name,
        priceListVersion,
      });
      for (const [user, roles] of members) doc.members[user as UserId] = { name: user, roles };
      return doc;
    });
