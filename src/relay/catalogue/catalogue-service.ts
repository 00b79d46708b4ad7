import type { CataloguePage } from "../../docs/catalogue.js";
import type { AccessPolicy } from "../../policy/access.js";
import type { Principal } from "../../policy/principal.js";
import type { CatalogueStore } from "../store/types.js";
import {
  type CatalogueLimits,
  checkCatalogueLimits,
  defaultCatalogueLimits,
  encodeCursor,
  parseCatalogueQuery,
} from "./catalogue-params.js";
import { searchCatalogue } from "./catalogue-query.js";
import { RateLimiter } from "./rate-limit.js";

/** What `GET /v1/documents` answers, with its per-user rate limit. */
export class CatalogueService {
  readonly limits: CatalogueLimits;
  readonly limiter: RateLimiter;

  /** Throws INVALID_INPUT naming a limit that is out of range (see `checkCatalogueLimits`). */
  constructor(
    private readonly o: {
      store: CatalogueStore;
      /** Writes rows still waiting (`Catalogue.settle`), so that a page sees every store. */
      catalogue: { settle(): void | Promise<void> };
      policy: AccessPolicy;
      limits?: CatalogueLimits;
    },
  ) {
    this.limits = checkCatalogueLimits(o.limits ?? defaultCatalogueLimits);
    this.limiter = new RateLimiter(this.limits.catalogueRequestRate, this.limits.catalogueBurst);
  }

  /** False when this user has used up their requests for now. */
  admit(principal: Principal): boolean {
    return this.limiter.take(`${principal.organization}\u0000${principal.userId}`);
  }

  /** One page for `principal`; throws INVALID_INPUT naming a bad parameter. */
  async page(principal: Principal, params: URLSearchParams): Promise<CataloguePage> {
    const query = parseCatalogueQuery(params, this.limits);
    // Every completed store and committed outcome shows in this answer already.
    await this.o.catalogue.settle();
    const { entries, last } = await searchCatalogue(this.o.store, this.o.policy, principal, query);
    return { rows: entries, next: last ? encodeCursor(last) : null };
  }
}
