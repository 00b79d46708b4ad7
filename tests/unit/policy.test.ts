import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";
import {
  addLineItem,
  addSubmissionRequest,
  asDocId,
  asOrganizationId,
  asUserId,
  createInbox,
  createLedger,
  createOrder,
  createOrganization,
  createQuote,
  type DocumentMeta,
  type Order,
  type RequestId,
  recordSubmissionOutcome,
  setHeader,
} from "../../src/docs/index.js";
import {
  changesSinceSubmission,
  createAccessPolicy,
  DAY_MS,
  defaultAccessPolicy,
  evaluateGate,
  isEnabled,
  type Principal,
  parsePrincipal,
  submissionState,
  transmittedView,
  validateWrite,
} from "../../src/policy/index.js";

const acme = asOrganizationId("acme");
const globex = asOrganizationId("globex");
const alice: Principal = parsePrincipal({
  sub: "alice",
  org: "acme",
  roles: ["rep"],
  offline: true,
});
const bob: Principal = parsePrincipal({ sub: "bob", org: "acme", roles: ["rep"] });
const manager: Principal = parsePrincipal({ sub: "mona", org: "acme", roles: ["manager"] });
const outsider: Principal = parsePrincipal({ sub: "oscar", org: "globex", roles: ["manager"] });
const admin: Principal = parsePrincipal({ sub: "ada", org: "acme", roles: ["admin"] });

const aliceQuote: DocumentMeta = { kind: "quote", owner: asUserId("alice"), organization: acme };

describe("principal", () => {
  it("parses claims and names the bad one", () => {
    expect(alice).toEqual({ userId: "alice", organization: "acme", roles: ["rep"], offline: true });
    expect(bob.offline).toBe(false);
    expect(() => parsePrincipal({ sub: "a", org: "acme", roles: "rep" })).toThrow(
      /"roles" claim must be an array/,
    );
    expect(() => parsePrincipal({ org: "acme", roles: [] })).toThrow(
      expect.objectContaining({ code: "AUTH_REQUIRED" }),
    );
    expect(() => parsePrincipal({ sub: "../x", org: "acme", roles: [] })).toThrow(/"sub" claim/);
  });
});

describe("default access", () => {
  const table: [string, Principal, DocumentMeta, boolean, boolean][] = [
    ["owner", alice, aliceQuote, true, true],
    ["rep of the same organization", bob, aliceQuote, false, false],
    ["manager of the owner's organization", manager, aliceQuote, true, true],
    ["manager of another organization", outsider, aliceQuote, false, false],
    [
      "owner of their ledger",
      alice,
      { kind: "ledger", owner: asUserId("alice"), organization: acme },
      true,
      false,
    ],
    [
      "another user's inbox, even as manager",
      manager,
      { kind: "inbox", owner: asUserId("alice"), organization: acme },
      false,
      false,
    ],
    ["member of the organization", bob, { kind: "organization", organization: acme }, true, false],
    ["admin of the organization", admin, { kind: "organization", organization: acme }, true, true],
    [
      "another organization's info",
      outsider,
      { kind: "organization", organization: acme },
      false,
      false,
    ],
    [
      "own workspace",
      alice,
      { kind: "workspace", owner: asUserId("alice"), organization: acme },
      true,
      true,
    ],
    [
      "another's workspace",
      manager,
      { kind: "workspace", owner: asUserId("alice"), organization: acme },
      false,
      false,
    ],
  ];
  it.each(table)("%s", (_name, principal, meta, read, write) => {
    expect(defaultAccessPolicy.canRead(principal, meta)).toBe(read);
    expect(defaultAccessPolicy.canWrite(principal, meta)).toBe(write);
  });

  it("can be replaced rule by rule", () => {
    const policy = createAccessPolicy({
      canRead: (p, m) => m.kind === "quote" || defaultAccessPolicy.canRead(p, m),
    });
    expect(policy.canRead(bob, aliceQuote)).toBe(true);
    expect(policy.canWrite(bob, aliceQuote)).toBe(false);
  });
});

describe("write validation", () => {
  const newQuote = createQuote({ owner: asUserId("alice"), organization: acme, currency: "USD" });

  it("accepts a valid new document from its owner", () => {
    expect(validateWrite({ principal: alice, before: undefined, after: newQuote })).toEqual({
      ok: true,
    });
  });

  it("refuses a new document owned by someone else or in another organization", () => {
    const d1 = validateWrite({ principal: bob, before: undefined, after: newQuote });
    expect(d1.ok || d1.reasons.map((r) => r.code)).toEqual(["WRONG_OWNER"]);
    const d2 = validateWrite({ principal: outsider, before: undefined, after: newQuote });
    expect(d2.ok || d2.reasons.map((r) => r.code)).toEqual(["WRONG_ORGANIZATION"]);
  });

  it("refuses client-created server documents", () => {
    const d = validateWrite({
      principal: alice,
      before: undefined,
      after: createLedger({ owner: asUserId("alice"), organization: acme }),
    });
    expect(d.ok || d.reasons.map((r) => r.code)).toEqual(["READ_ONLY"]);
    const o = validateWrite({
      principal: admin,
      before: undefined,
      after: createOrganization({ organization: acme, name: "Acme" }),
    });
    expect(o.ok).toBe(false);
  });

  it("refuses writes to the ledger and inbox, and to documents outside one's rights", () => {
    const inbox = createInbox({ owner: asUserId("alice"), organization: acme });
    const d = validateWrite({ principal: alice, before: inbox, after: { ...inbox, messages: {} } });
    expect(d.ok || d.reasons.map((r) => r.code)).toEqual(["READ_ONLY"]);
    const e = validateWrite({
      principal: bob,
      before: newQuote,
      after: { ...newQuote, projectName: "mine" },
    });
    expect(e.ok || e.reasons.map((r) => r.code)).toEqual(["FORBIDDEN"]);
  });

  it("refuses a change of owner, organization or currency", () => {
    const d = validateWrite({
      principal: alice,
      before: newQuote,
      after: { ...newQuote, owner: "bob", currency: "EUR" },
    });
    expect(d.ok || d.reasons.map((r) => `${r.code}:${r.path?.join(".")}`)).toEqual([
      "WRONG_OWNER:owner",
      "IMMUTABLE_FIELD:currency",
    ]);
  });

  it("refuses schema violations with their paths", () => {
    const d = validateWrite({
      principal: alice,
      before: newQuote,
      after: { ...newQuote, projectName: 7 },
    });
    expect(d.ok || d.reasons[0]).toMatchObject({ code: "SCHEMA", path: ["projectName"] });
  });

  it("keeps submission requests append-only and signed by their writer", () => {
    let order = A.from(
      createOrder({
        owner: asUserId("alice"),
        organization: acme,
        currency: "USD",
      }) as unknown as Record<string, unknown>,
    ) as A.Doc<Order>;
    const before = A.toJS(order);
    order = A.change(order, (d) => {
      addSubmissionRequest(d, {
        requestedBy: asUserId("alice"),
        heads: A.getHeads(order),
        lastSyncAt: null,
      });
    });
    const after = A.toJS(order);
    expect(validateWrite({ principal: alice, before, after })).toEqual({ ok: true });
    const forged = validateWrite({ principal: manager, before, after });
    expect(forged.ok || forged.reasons.map((r) => r.code)).toEqual(["FIELD_NOT_ALLOWED"]);
    const removed = validateWrite({
      principal: alice,
      before: after,
      after: { ...after, submissions: {} },
    });
    expect(removed.ok || removed.reasons.map((r) => r.code)).toEqual(["IMMUTABLE_FIELD"]);
  });
});

describe("map keys that are Object.prototype members", () => {
  it("cannot hide a forged submission request under the id 'constructor'", () => {
    const before = JSON.parse(
      JSON.stringify(
        createOrder({ owner: asUserId("alice"), organization: acme, currency: "USD" }),
      ),
    );
    const after = JSON.parse(JSON.stringify(before));
    after.submissions.constructor = {
      requestedBy: "bob",
      requestedAt: 1,
      heads: ["a".repeat(64)],
      lastSyncAt: null,
    };
    const decision = validateWrite({ principal: alice, before, after });
    expect(decision.ok || decision.reasons.map((r) => r.code)).toEqual(["FIELD_NOT_ALLOWED"]);
  });

  it("records an outcome and a message under such ids", () => {
    const ledger = createLedger({ owner: asUserId("alice"), organization: acme });
    recordSubmissionOutcome(ledger, "constructor" as RequestId, {
      status: "rejected",
      orderId: asDocId("o"),
      processedAt: 1,
      code: "X",
      reason: "y",
    });
    expect(Object.hasOwn(ledger.submissions, "constructor")).toBe(true);
    const order = createOrder({ owner: asUserId("alice"), organization: acme, currency: "USD" });
    expect(
      submissionState(
        asDocId("o"),
        { ...order, submissions: { toString: order.submissions } } as never,
        ledger,
      ).status,
    ).toBe("pending");
  });
});

describe("submission state", () => {
  const orderId = asDocId("order-1");
  const setup = () => {
    let order = A.from(
      createOrder({
        owner: asUserId("alice"),
        organization: acme,
        currency: "USD",
      }) as unknown as Record<string, unknown>,
    ) as A.Doc<Order>;
    order = A.change(order, (d) => {
      setHeader(d, { customer: { name: "Hansen" } });
      addLineItem(d, { productCode: "DH", quantity: 2, unitPrice: 500 });
    });
    const heads = A.getHeads(order);
    let requestId = "" as RequestId;
    order = A.change(order, (d) => {
      requestId = addSubmissionRequest(d, { requestedBy: asUserId("alice"), heads, lastSyncAt: 1 });
    });
    return { order, heads, requestId };
  };

  it("goes draft → pending → submitted, then shows changes since submission", () => {
    const draft = A.from(
      createOrder({
        owner: asUserId("alice"),
        organization: acme,
        currency: "USD",
      }) as unknown as Record<string, unknown>,
    ) as A.Doc<Order>;
    expect(submissionState(orderId, draft, undefined).status).toBe("draft");
    const { order, heads, requestId } = setup();
    const ledger = A.change(
      A.from(
        createLedger({ owner: asUserId("alice"), organization: acme }) as unknown as Record<
          string,
          unknown
        >,
      ) as A.Doc<ReturnType<typeof createLedger>>,
      () => {},
    );
    expect(submissionState(orderId, order, ledger)).toMatchObject({
      status: "pending",
      pending: [requestId],
    });
    const accepted = A.change(ledger, (l) =>
      recordSubmissionOutcome(l, requestId, {
        status: "accepted",
        orderId,
        processedAt: 10,
        revision: 1,
        orderNumber: "SO-000001",
        heads,
      }),
    );
    expect(submissionState(orderId, order, accepted)).toMatchObject({
      status: "submitted",
      accepted: { revision: 1, orderNumber: "SO-000001" },
    });
    expect(changesSinceSubmission(order, heads)).toEqual([]);
    const edited = A.change(order, (d) => setHeader(d, { projectName: "Lake house" }));
    expect(new Set(changesSinceSubmission(edited, heads).map((p) => p.path[0]))).toEqual(
      new Set(["projectName"]),
    );
    expect(transmittedView(edited, heads).projectName).toBe("");
  });

  it("reports a rejection with its reason, and an unknown version clearly", () => {
    const { order, requestId } = setup();
    const ledger = createLedger({ owner: asUserId("alice"), organization: acme });
    ledger.submissions[requestId] = {
      status: "rejected",
      orderId,
      processedAt: 5,
      code: "INCOMPLETE",
      reason: "no lines",
    };
    expect(submissionState(orderId, order, ledger)).toMatchObject({
      status: "rejected",
      rejected: { reason: "no lines" },
    });
    expect(() => transmittedView(order, ["a".repeat(64)])).toThrow(/not on this device yet; sync/);
  });
});

describe("staleness gate", () => {
  const t0 = 1_800_000_000_000;
  const at = (days: number, highest = t0 + days * DAY_MS) =>
    evaluateGate({
      lastSync: { relayTime: t0, localTime: t0 },
      now: t0 + days * DAY_MS,
      highestLocalSeen: highest,
    });

  it("is ok on day 9, warns on day 10, blocks after day 14", () => {
    expect(at(9)).toMatchObject({ level: "ok", daysSinceSync: 9, daysLeft: 5, disabled: [] });
    expect(at(10)).toMatchObject({ level: "warn", daysLeft: 4 });
    expect(at(14)).toMatchObject({ level: "warn", daysLeft: 0 });
    const blocked = at(15);
    expect(blocked.level).toBe("blocked");
    expect(isEnabled(blocked, "submitOrder")).toBe(false);
    expect(isEnabled(blocked, "openQuote")).toBe(true);
  });

  it("stays blocked when the clock is set back", () => {
    const highest = t0 + 15 * DAY_MS;
    expect(at(1, highest).level).toBe("blocked");
  });

  it("blocks a device that never synced", () => {
    expect(evaluateGate({ lastSync: null, now: t0, highestLocalSeen: t0 })).toMatchObject({
      level: "blocked",
      ageMs: null,
    });
  });

  it("takes its limits and gated functions from configuration", () => {
    const state = evaluateGate(
      { lastSync: { relayTime: t0, localTime: t0 }, now: t0 + 4 * DAY_MS, highestLocalSeen: 0 },
      { warnAfterDays: 2, blockAfterDays: 3, gated: ["exportPdf"] },
    );
    expect(state).toMatchObject({ level: "blocked", disabled: ["exportPdf"] });
    expect(globex).toBe("globex");
  });
});
