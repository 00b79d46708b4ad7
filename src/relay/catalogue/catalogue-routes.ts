import type { IncomingMessage, ServerResponse } from "node:http";
import { OmsError } from "../../docs/errors.js";
import type { Principal } from "../../policy/principal.js";
import {
  bearerToken,
  type HttpContext,
  json,
  refusedAsRevoked,
  sendAuthError,
  sendError,
} from "../http-routes.js";

/** `GET /v1/documents?kind=…`: one page of the catalogue rows the caller may read. */
export async function handleDocuments(
  ctx: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (ctx.state() !== "ready")
    return sendError(res, 503, "UNAVAILABLE", "the relay is starting or stopping; retry shortly");
  const service = ctx.catalogue;
  if (!service) return sendError(res, 404, "NOT_FOUND", "this relay keeps no catalogue");
  let principal: Principal;
  try {
    principal = await ctx.verify(bearerToken(req));
  } catch (err) {
    return sendAuthError(ctx, res, err);
  }
  if (refusedAsRevoked(ctx, res, principal)) return;
  if (!service.admit(principal)) {
    ctx.metrics.refusals.inc({ reason: "rate_limited" });
    res.setHeader("retry-after", "1");
    return sendError(
      res,
      429,
      "RATE_LIMITED",
      `more than ${service.limits.catalogueRequestRate} catalogue requests per second (after a burst of ${service.limits.catalogueBurst}) for this user (relay options limits.catalogueRequestRate and limits.catalogueBurst); wait a second and retry`,
    );
  }
  const params = new URL(req.url ?? "/", "http://relay").searchParams;
  try {
    return json(res, 200, await service.page(principal, params));
  } catch (err) {
    if (!(err instanceof OmsError) || err.code !== "INVALID_INPUT") throw err;
    return sendError(res, 400, err.code, err.message);
  }
}
