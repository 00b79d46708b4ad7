import fc from "fast-check";
import type { OrganizationId, UserId } from "../docs/ids.js";
import type { LineItemPatch, NewLineItem } from "../docs/line-items.js";
import { moneyLimits } from "../docs/money.js";
import type { HeaderPatch } from "../docs/quote.js";
import type { Principal } from "../policy/principal.js";

// Arbitraries produce inputs that are valid by construction, with small values first so that
// shrinking ends at readable counterexamples.

export const arbUserId = (): fc.Arbitrary<UserId> =>
  fc.constantFrom("alice", "bob", "carol", "dave").map((s) => s as UserId);

export const arbOrganizationId = (): fc.Arbitrary<OrganizationId> =>
  fc.constantFrom("acme", "globex").map((s) => s as OrganizationId);

export const arbPrincipal = (): fc.Arbitrary<Principal> =>
  fc.record({
    userId: arbUserId(),
    organization: arbOrganizationId(),
    roles: fc.subarray(["rep", "manager", "admin"]),
    offline: fc.boolean(),
  });

const arbShortText = () => fc.string({ maxLength: 12 });

export const arbQuantity = () => fc.integer({ min: 1, max: moneyLimits.maxQuantity });
export const arbUnitPrice = () =>
  fc.oneof(
    fc.integer({ min: 0, max: 100_000 }),
    fc.integer({ min: 0, max: moneyLimits.maxUnitPriceMinor }),
  );
export const arbDiscountBp = () =>
  fc.oneof(fc.constant(0), fc.integer({ min: 0, max: moneyLimits.maxDiscountBasisPoints }));

export const arbOptions = () =>
  fc.dictionary(fc.constantFrom("color", "glazing", "hinge", "grille"), arbShortText(), {
    maxKeys: 3,
  });

export const arbNewLineItem = (): fc.Arbitrary<NewLineItem> =>
  fc.record({
    productCode: fc.constantFrom("DH-3046", "CA-2436", "SL-6080", "AW-3024"),
    description: arbShortText(),
    options: arbOptions(),
    quantity: fc.oneof(fc.integer({ min: 1, max: 20 }), arbQuantity()),
    unitPrice: arbUnitPrice(),
    discountBp: arbDiscountBp(),
  });

export const arbLineItemPatch = (): fc.Arbitrary<LineItemPatch> =>
  fc.record(
    {
      description: arbShortText(),
      quantity: fc.integer({ min: 1, max: 50 }),
      unitPrice: arbUnitPrice(),
      discountBp: arbDiscountBp(),
      options: fc.dictionary(
        fc.constantFrom("color", "glazing", "hinge"),
        fc.option(arbShortText(), { nil: null }),
        { maxKeys: 2 },
      ),
    },
    { requiredKeys: [] },
  );

export const arbHeaderPatch = (): fc.Arbitrary<HeaderPatch> =>
  fc.record(
    {
      customer: fc.record({ name: arbShortText(), contact: arbShortText() }, { requiredKeys: [] }),
      projectName: arbShortText(),
    },
    { requiredKeys: [] },
  );

/** One user action on a quote or order. Lines are picked by index into the current lines. */
export type DocumentAction =
  | { readonly type: "addLine"; readonly line: NewLineItem; readonly index: number }
  | { readonly type: "updateLine"; readonly pick: number; readonly patch: LineItemPatch }
  | { readonly type: "removeLine"; readonly pick: number }
  | { readonly type: "moveLine"; readonly pick: number; readonly to: number }
  | { readonly type: "setHeader"; readonly patch: HeaderPatch }
  | { readonly type: "setNotes"; readonly text: string };

/** Any action a user can make on a quote or an order's content. */
export const arbDocumentAction = (): fc.Arbitrary<DocumentAction> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        type: fc.constant("addLine" as const),
        line: arbNewLineItem(),
        index: fc.nat(8),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        type: fc.constant("updateLine" as const),
        pick: fc.nat(8),
        patch: arbLineItemPatch(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ type: fc.constant("removeLine" as const), pick: fc.nat(8) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constant("moveLine" as const),
        pick: fc.nat(8),
        to: fc.nat(8),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ type: fc.constant("setHeader" as const), patch: arbHeaderPatch() }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant("setNotes" as const),
        text: fc.string({ maxLength: 20 }),
      }),
    },
  );

/** A step of a multi-replica schedule: a replica acts, or one replica receives another's changes. */
export type ReplicaStep =
  | { readonly kind: "act"; readonly replica: number; readonly action: DocumentAction }
  | { readonly kind: "sync"; readonly from: number; readonly to: number };

export const arbReplicaSteps = (replicas: number, maxSteps = 30): fc.Arbitrary<ReplicaStep[]> =>
  fc.array(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("act" as const),
          replica: fc.nat(replicas - 1),
          action: arbDocumentAction(),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant("sync" as const),
          from: fc.nat(replicas - 1),
          to: fc.nat(replicas - 1),
        }),
      },
    ),
    { maxLength: maxSteps },
  );

/**
 * Runs per property: `OMS_PROPERTY_RUNS` when set (for long runs), else the given default.
 */
export function propertyRuns(defaultRuns: number): number {
  const fromEnv = Number(globalThis.process?.env?.OMS_PROPERTY_RUNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : defaultRuns;
}
