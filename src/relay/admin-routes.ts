import type { IncomingMessage, ServerResponse } from "node:http";
import { OmsError } from "../docs/errors.js";
import type { Principal } from "../policy/principal.js";
import { assertAdmin } from "./admin.js";
import {
  bearerToken,
  type HttpContext,
  json,
  readJson,
  sendAuthError,
  sendError,
} from "./http-routes.js";

const statusOf: Partial<Record<string, number>> = {
  INVALID_INPUT: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
};

const routes = [
  "POST /v1/admin/documents/{id}/reassign {owner, reason?}",
  "POST /v1/admin/users/{id}/revoke {reason?}",
  "POST /v1/admin/users/{id}/reinstate",
  "GET /v1/admin/users/revoked",
];

/**
 * `/v1/admin/…`: reassign a document, revoke or reinstate a user. Every request needs a token
 * with the `admin` role, and acts within that admin's organization only.
 */
export async function handleAdmin(
  ctx: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  if (ctx.state() !== "ready")
    return sendError(res, 503, "UNAVAILABLE", "the relay is starting or stopping; retry shortly");
  let admin: Principal;
  try {
    admin = await ctx.verify(bearerToken(req));
  } catch (err) {
    return sendAuthError(ctx, res, err);
  }
  try {
    assertAdmin(admin);
    if (ctx.admin.revocation(admin.organization, admin.userId))
      throw new OmsError("FORBIDDEN", `${admin.userId} was revoked and may not act as admin`);
    const parts = path.split("/").slice(3).map(decodePathSegment);
    const [collection, id, action] = parts;
    if (req.method === "GET" && collection === "users" && id === "revoked" && !action) {
      return json(res, 200, { revoked: ctx.admin.revokedUsers(admin.organization) });
    }
    if (req.method !== "POST" || parts.length !== 3 || !id) {
      return sendError(
        res,
        404,
        "NOT_FOUND",
        `no admin endpoint ${req.method} ${path}; there are: ${routes.join("; ")}`,
      );
    }
    const body = await readJson(req, 65_536);
    const reason = optionalString(body, "reason");
    if (collection === "documents" && action === "reassign") {
      const owner = body.owner;
      if (typeof owner !== "string")
        throw new OmsError("INVALID_INPUT", 'the body needs "owner": the user id of the new owner');
      const documentId = id.startsWith("automerge:") ? id.slice("automerge:".length) : id;
      return json(res, 200, await ctx.admin.reassign(admin, documentId, owner, reason));
    }
    // An admin names users of their own organization: the same id elsewhere is someone else.
    const member = { organization: admin.organization, userId: id };
    if (collection === "users" && action === "revoke")
      return json(res, 200, await ctx.admin.revoke(admin, member, reason));
    if (collection === "users" && action === "reinstate") {
      const reinstated = await ctx.admin.reinstate(admin, member);
      if (!reinstated) throw new OmsError("NOT_FOUND", `${id} is not revoked in your organization`);
      return json(res, 200, { userId: id, reinstated });
    }
    return sendError(
      res,
      404,
      "NOT_FOUND",
      `no admin endpoint ${req.method} ${path}; there are: ${routes.join("; ")}`,
    );
  } catch (err) {
    if (err instanceof OmsError && statusOf[err.code])
      return sendError(res, statusOf[err.code] as number, err.code, err.message);
    throw err;
  }
}

/** A percent-decoded path segment; INVALID_INPUT (400) for a malformed escape such as `%E0%A4%A`. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new OmsError(
      "INVALID_INPUT",
      `the path segment ${JSON.stringify(segment.slice(0, 100))} has a malformed percent-escape; encode ids with encodeURIComponent`,
    );
  }
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length > 500)
    throw new OmsError("INVALID_INPUT", `"${key}" must be a string of at most 500 characters`);
  return value;
}
