import type { CatalogueKind, CataloguePage, CatalogueSort, OrderState } from "../docs/catalogue.js";
import { OmsError, type OmsErrorCode } from "../docs/errors.js";

/** What to look for in the relay's catalogue (`client.quotes.search(…)` and its siblings). */
export interface CatalogueSearch {
  /** "all": every document the user may read (the default); "my": the user's own. */
  scope?: "all" | "my";
  /** Customer, project or order number containing this text (case-insensitive). */
  q?: string;
  /** Only this owner's documents (a manager looking at one rep's). */
  owner?: string;
  /** Orders only. */
  state?: OrderState;
  sort?: CatalogueSort;
  order?: "asc" | "desc";
  /** The `next` of the previous page. */
  cursor?: string;
  /** 1 to 200; 50 by default. */
  limit?: number;
}

export interface CatalogueSearchContext {
  httpUrl: string;
  fetch?: typeof fetch;
  userId: () => string;
  connected: () => boolean;
  tokens: { current(): string; refresh(): Promise<string | undefined> };
}

const httpCodes: Record<number, OmsErrorCode> = {
  400: "INVALID_INPUT",
  403: "USER_REVOKED",
  429: "RATE_LIMITED",
};

/**
 * Searches the relay's catalogue: one page of the documents of `kind` the user may read, each
 * opened with `open(id)` (kept in memory only unless it is in "My"). Connected only: throws
 * OFFLINE otherwise, since the catalogue lives on the relay.
 */
export async function searchCatalogue(
  ctx: CatalogueSearchContext,
  kind: CatalogueKind,
  search: CatalogueSearch = {},
): Promise<CataloguePage> {
  if (!ctx.connected()) {
    throw new OmsError(
      "OFFLINE",
      `searching ${kind}s needs the relay and this device is not connected; "My" documents stay available through list()`,
    );
  }
  const params = new URLSearchParams({ kind });
  const owner = search.scope === "my" ? ctx.userId() : search.owner;
  if (search.scope === "my" && search.owner !== undefined && search.owner !== owner)
    throw new OmsError("INVALID_INPUT", 'scope "my" lists your own documents: drop owner');
  if (owner !== undefined) params.set("owner", owner);
  if (search.q) params.set("q", search.q);
  if (search.state) params.set("state", search.state);
  if (search.sort) params.set("sort", search.sort);
  if (search.order) params.set("order", search.order);
  if (search.cursor) params.set("cursor", search.cursor);
  if (search.limit !== undefined) params.set("limit", String(search.limit));
  const url = `${ctx.httpUrl}/v1/documents?${params}`;
  let response = await get(ctx, url, ctx.tokens.current());
  if (response.status === 401) {
    const fresh = await ctx.tokens.refresh().catch(() => undefined);
    if (fresh) response = await get(ctx, url, fresh);
  }
  const body = (await response.json().catch(() => ({}))) as {
    error?: { code?: string; message?: string };
  };
  if (response.ok) return body as unknown as CataloguePage;
  const code: OmsErrorCode =
    response.status === 401
      ? body.error?.code === "AUTH_EXPIRED"
        ? "AUTH_EXPIRED"
        : "AUTH_REQUIRED"
      : (httpCodes[response.status] ?? "OFFLINE");
  throw new OmsError(
    code,
    body.error?.message ?? `the relay answered ${response.status} to a catalogue search`,
  );
}

async function get(ctx: CatalogueSearchContext, url: string, token: string): Promise<Response> {
  try {
    return await (ctx.fetch ?? globalThis.fetch)(url, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (cause) {
    throw new OmsError(
      "OFFLINE",
      `the relay at ${ctx.httpUrl} cannot be reached for a search; try again when connected`,
      { cause },
    );
  }
}
