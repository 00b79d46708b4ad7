import { mintToken } from "../../src/relay/auth.js";
import { TEST_SECRET } from "../integration/helpers.js";

/** One user of the stateful fuzz run: who they are and what their documents carry. */
export interface Person {
  readonly user: string;
  readonly org: string;
  readonly roles: readonly string[];
}

/**
 * 7 fuzzing users in 3 organizations (one manager, so that co-readers across users exist),
 * each holding two sockets; and the honest users beside them.
 */
export const fuzzers: readonly Person[] = [
  { user: "ann", org: "north", roles: ["rep"] },
  { user: "bob", org: "north", roles: ["rep"] },
  { user: "mia", org: "north", roles: ["manager"] },
  { user: "dan", org: "south", roles: ["rep"] },
  { user: "eve", org: "south", roles: ["rep"] },
  { user: "fay", org: "west", roles: ["rep"] },
  { user: "gus", org: "west", roles: ["rep"] },
];

/** Edits every 300 ms; its edits must be stored within the bound. */
export const steady: Person = { user: "steady", org: "north", roles: ["rep"] };
/** An honest device that drops its connection right after writing. */
export const flaky: Person = { user: "flaky", org: "south", roles: ["rep"] };
/** Users who submit orders and assistance requests through the oms-sync client. */
export const submitters: readonly Person[] = [
  { user: "sam", org: "north", roles: ["rep"] },
  { user: "sue", org: "south", roles: ["rep"] },
  { user: "sol", org: "west", roles: ["rep"] },
];

export const everyone: readonly Person[] = [...fuzzers, steady, flaky, ...submitters];

/**
 * The string every document of a person carries. A frame that reaches someone who may not read
 * that person's documents and contains it is a leak. Short, so that Automerge never compresses it.
 */
export const markerOf = (p: Person) => `SECRET-${p.org}-${p.user}`;

/** The default access policy, for quotes: same organization, and the owner or a manager. */
export function mayRead(viewer: Person, owner: Person): boolean {
  return (
    viewer.org === owner.org && (viewer.user === owner.user || viewer.roles.includes("manager"))
  );
}

/** The markers a person must never receive. */
export function forbiddenMarkers(viewer: Person): string[] {
  return everyone.filter((owner) => !mayRead(viewer, owner)).map(markerOf);
}

const secret = new TextEncoder().encode(TEST_SECRET);

const tokens = new Map<string, Promise<string>>();

/** A valid token (one per person, reused: signing on every reconnect costs the harness CPU). */
export function tokenFor(p: Person, ttl: string | number = "24h"): Promise<string> {
  const mint = () =>
    mintToken(secret, { sub: p.user, org: p.org, roles: p.roles, offline: true, ttl });
  if (ttl !== "24h") return mint();
  let token = tokens.get(p.user);
  if (!token) {
    token = mint();
    tokens.set(p.user, token);
  }
  return token;
}

export function personOf(user: string): Person | undefined {
  return everyone.find((p) => p.user === user);
}
