import {
  type CatalogueKind,
  type CatalogueSort,
  catalogueKinds,
  catalogueSorts,
  type OrderState,
  orderStates,
} from "../../docs/catalogue.js";
import { OmsError } from "../../docs/errors.js";
import type { CatalogueCursor, CatalogueQuery } from "./catalogue-query.js";

/** The limits of `GET /v1/documents`: relay options (`createRelay({ limits })`). */
export interface CatalogueLimits {
  /** Rows in a page when `limit` is not given. Default 50. */
  catalogueDefaultLimit: number;
  /** The largest `limit` accepted; more is answered 400. Default 200. */
  catalogueMaxLimit: number;
  /** The longest `q` accepted, in characters after trimming; longer is answered 400. Default 100. */
  catalogueMaxQueryLength: number;
  /** Requests per second one user may make, once the burst is spent; more is answered 429. Default 10. */
  catalogueRequestRate: number;
  /** Requests one user may make at once before the per-second rate applies. Default 30. */
  catalogueBurst: number;
  /**
   * How long stored documents wait for their catalogue rows, in milliseconds, so that edits
   * arriving meanwhile share one derivation and one write. Queries never wait for it: each
   * writes the waiting rows first. Default 500.
   */
  catalogueSettleMs: number;
}

export const defaultCatalogueLimits: CatalogueLimits = {
  catalogueDefaultLimit: 50,
  catalogueMaxLimit: 200,
  catalogueMaxQueryLength: 100,
  catalogueRequestRate: 10,
  catalogueBurst: 30,
  catalogueSettleMs: 500,
};

/**
 * Checks the catalogue's limits as given to `createRelay`: each a whole number of at least 1
 * (the rate may be a fraction above 0, the settle delay 0), and the default page no larger than
 * the largest.
 * Throws INVALID_INPUT naming the option.
 */
export function checkCatalogueLimits(limits: CatalogueLimits): CatalogueLimits {
  for (const name of Object.keys(defaultCatalogueLimits) as (keyof CatalogueLimits)[]) {
    const value = limits[name];
    const [ok, rule] =
      name === "catalogueRequestRate"
        ? [typeof value === "number" && Number.isFinite(value) && value > 0, "a number above 0"]
        : name === "catalogueSettleMs"
          ? [Number.isSafeInteger(value) && value >= 0, "a whole number of at least 0"]
          : [Number.isSafeInteger(value) && value >= 1, "a whole number of at least 1"];
    if (!ok)
      throw new OmsError(
        "INVALID_INPUT",
        `limits.${name} must be ${rule}, got ${JSON.stringify(value)}; leave it out for the default (${defaultCatalogueLimits[name]})`,
      );
  }
  if (limits.catalogueDefaultLimit > limits.catalogueMaxLimit)
    throw new OmsError(
      "INVALID_INPUT",
      `limits.catalogueDefaultLimit (${limits.catalogueDefaultLimit}) is above limits.catalogueMaxLimit (${limits.catalogueMaxLimit}); lower it or raise the maximum`,
    );
  return limits;
}

const known = new Set(["kind", "q", "owner", "state", "sort", "order", "limit", "cursor"]);

function bad(parameter: string, message: string): never {
  throw new OmsError("INVALID_INPUT", `${parameter}: ${message}`);
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    bad(name, `must be one of ${allowed.join(", ")}, got ${JSON.stringify(value.slice(0, 40))}`);
  return value as T;
}

/** An opaque cursor: base64url of the last row's sort value and id, and the query it belongs to. */
export function encodeCursor(c: CatalogueCursor): string {
  return Buffer.from(JSON.stringify([c.kind, c.sort, c.order, c.value, c.id])).toString(
    "base64url",
  );
}

function decodeCursor(text: string, query: Omit<CatalogueQuery, "after">): CatalogueCursor {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    bad("cursor", "is not a cursor this relay gave; start again without one");
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== 5 ||
    (typeof parts[3] !== "number" && typeof parts[3] !== "string") ||
    typeof parts[4] !== "string"
  )
    bad("cursor", "is not a cursor this relay gave; start again without one");
  const [kind, sort, order, value, id] = parts as [string, string, string, number | string, string];
  if (kind !== query.kind || sort !== query.sort || order !== query.order)
    bad("cursor", "belongs to another kind, sort or order; keep them while paging");
  return { kind: query.kind, sort: query.sort, order: query.order, value, id };
}

/** Reads and checks the parameters of `GET /v1/documents`; INVALID_INPUT naming the parameter. */
export function parseCatalogueQuery(
  params: URLSearchParams,
  limits: CatalogueLimits = defaultCatalogueLimits,
): CatalogueQuery {
  for (const name of new Set(params.keys())) {
    if (!known.has(name)) bad(name, `is not a parameter; use ${[...known].join(", ")}`);
    if (params.getAll(name).length > 1) bad(name, "is given more than once");
  }
  const kindText = params.get("kind");
  if (kindText === null) bad("kind", `is required: one of ${catalogueKinds.join(", ")}`);
  const kind: CatalogueKind = oneOf("kind", kindText, catalogueKinds);
  const sort: CatalogueSort = oneOf("sort", params.get("sort") ?? "updated", catalogueSorts);
  const order = oneOf("order", params.get("order") ?? "desc", ["asc", "desc"] as const);
  const limitText = params.get("limit");
  let limit = limits.catalogueDefaultLimit;
  if (limitText !== null) {
    limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > limits.catalogueMaxLimit)
      bad("limit", `must be a whole number from 1 to ${limits.catalogueMaxLimit}`);
  }
  const q = params.get("q")?.trim();
  if (q !== undefined && q.length > limits.catalogueMaxQueryLength)
    bad("q", `is longer than ${limits.catalogueMaxQueryLength} characters; shorten it`);
  const owner = params.get("owner");
  if (owner !== null && !/^[A-Za-z0-9._@:-]{1,200}$/.test(owner))
    bad("owner", "must be a user id (1 to 200 of A-Z a-z 0-9 . _ @ : -)");
  const stateText = params.get("state");
  let state: OrderState | undefined;
  if (stateText !== null) {
    if (kind !== "order") bad("state", "applies to orders only (kind=order)");
    state = oneOf("state", stateText, orderStates);
  }
  if (sort === "total" && kind === "assistance")
    bad("sort", "total applies to quotes and orders; assistance requests have no total");
  const query: CatalogueQuery = {
    kind,
    sort,
    order,
    limit,
    ...(q ? { q } : {}),
    ...(owner !== null ? { owner } : {}),
    ...(state ? { state } : {}),
  };
  const cursor = params.get("cursor");
  if (cursor !== null) query.after = decodeCursor(cursor, query);
  return query;
}
