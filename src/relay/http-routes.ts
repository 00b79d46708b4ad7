import type { IncomingMessage, ServerResponse } from "node:http";
import { OmsError } from "../docs/errors.js";
import type { Principal } from "../policy/principal.js";
import { type AdminService, revokedMessage } from "./admin.js";
import { handleAdmin } from "./admin-routes.js";
import type { TokenVerifier } from "./auth.js";
import { type BulkExport, maxBulkDocuments } from "./bulk-export.js";
import { handleDocuments } from "./catalogue/catalogue-routes.js";
import type { CatalogueService } from "./catalogue/catalogue-service.js";
import type { RelayMetrics } from "./metrics.js";
import type { ReceiptLearner } from "./restore-receipts.js";
import type { SessionService } from "./session.js";
import type { SyncDigestService } from "./sync-digest.js";

export type RelayState = "starting" | "ready" | "stopping";

export interface HttpContext {
  state(): RelayState;
  verify: TokenVerifier;
  sessions: SessionService;
  metrics: RelayMetrics;
  status(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Origins allowed to call the HTTP endpoints from a browser: "*" or a list. */
  allowedOrigins: "*" | readonly string[];
  admin: AdminService;
  digest: SyncDigestService;
  bulk: BulkExport;
  /** `GET /v1/documents` (src/relay/catalogue/). */
  catalogue?: CatalogueService;
  receipts?: ReceiptLearner;
}

/** The token of an `authorization: Bearer …` header (the scheme in any case, RFC 7235), or "". */
export function bearerToken(req: IncomingMessage): string {
  const match = /^bearer[ \t]+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return match?.[1] ?? "";
}

/**
 * The `token` query parameter of a request's URL, or "". A URL that does not parse ("//", say)
 * has no token: it must be refused like one without, never throw in the upgrade handler.
 */
export function queryToken(url: string | undefined): string {
  try {
    return new URL(url ?? "/", "http://relay").searchParams.get("token") ?? "";
  } catch {
    return "";
  }
}

/** Answers 401 for a missing, bad or expired token; rethrows anything else. */
export function sendAuthError(ctx: HttpContext, res: ServerResponse, err: unknown): void {
  if (err instanceof OmsError && (err.code === "AUTH_REQUIRED" || err.code === "AUTH_EXPIRED")) {
    ctx.metrics.refusals.inc({
      reason: err.code === "AUTH_EXPIRED" ? "expired_token" : "bad_token",
    });
    res.setHeader("www-authenticate", 'Bearer realm="oms-relay"');
    sendError(res, 401, err.code, err.message);
    return;
  }
  throw err;
}

/** Reads a JSON object body of at most `maxBodyBytes`; INVALID_INPUT otherwise. */
export async function readJson(
  req: IncomingMessage,
  maxBodyBytes: number,
): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > maxBodyBytes)
      throw new OmsError("INVALID_INPUT", `the body exceeds ${maxBodyBytes} bytes; send less`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new OmsError("INVALID_INPUT", "the body is not JSON; send a JSON object");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new OmsError("INVALID_INPUT", "the body must be a JSON object");
  return value as Record<string, unknown>;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  });
  res.end(text);
}

/** `{ error: { code, message } }`, the shape of every HTTP error. */
export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  json(res, status, { error: { code, message } });
}

/** The relay's HTTP endpoints: health, metrics, session. */
export async function handleHttp(
  ctx: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  // Front ends are served from their own origin; tokens travel in a header, never in cookies.
  const origin = req.headers.origin;
  if (origin && (ctx.allowedOrigins === "*" || ctx.allowedOrigins.includes(origin))) {
    res.setHeader("access-control-allow-origin", ctx.allowedOrigins === "*" ? "*" : origin);
    res.setHeader("vary", "origin");
  }
  if (req.method === "OPTIONS") {
    res.writeHead(204, {
      "access-control-allow-methods": "GET, POST",
      "access-control-allow-headers": "authorization, content-type",
      "access-control-max-age": "600",
    });
    return void res.end();
  }
  if (path?.startsWith("/v1/admin/")) return handleAdmin(ctx, req, res, path);
  if (path === "/v1/sync/digest" && req.method === "POST") return handleDigest(ctx, req, res);
  if (path === "/v1/sync/bulk" && req.method === "POST") return handleBulk(ctx, req, res);
  if (path === "/v1/documents" && req.method === "GET") return handleDocuments(ctx, req, res);
  if (path === "/v1/restore/receipts" && req.method === "POST")
    return handleRestoreReceipts(ctx, req, res);
  if (req.method !== "GET" && req.method !== "HEAD") {
    return sendError(
      res,
      405,
      "METHOD_NOT_ALLOWED",
      `${req.method} is not supported here; these endpoints are GET (POST is for /v1/admin/)`,
    );
  }
  switch (path) {
    case "/healthz": {
      const state = ctx.state();
      return json(res, state === "ready" ? 200 : 503, {
        status: state === "ready" ? "ok" : state,
        ...(await ctx.status()),
      });
    }
    case "/metrics": {
      res.writeHead(200, { "content-type": ctx.metrics.registry.contentType });
      return void res.end(await ctx.metrics.registry.metrics());
    }
    case "/v1/session": {
      if (ctx.state() !== "ready") {
        return sendError(
          res,
          503,
          "UNAVAILABLE",
          "the relay is starting or stopping; retry shortly",
        );
      }
      let principal: Principal;
      try {
        principal = await ctx.verify(bearerToken(req));
      } catch (err) {
        return sendAuthError(ctx, res, err);
      }
      if (refusedAsRevoked(ctx, res, principal)) return;
      return json(res, 200, await ctx.sessions.session(principal));
    }
    default:
      return sendError(
        res,
        404,
        "NOT_FOUND",
        `no endpoint ${path}; see /healthz, /metrics, /v1/session, /v1/admin/`,
      );
  }
}

/** Answers 403 USER_REVOKED for a revoked user; true when it did. */
export function refusedAsRevoked(
  ctx: HttpContext,
  res: ServerResponse,
  principal: Principal,
): boolean {
  const revocation = ctx.admin.revocation(principal.organization, principal.userId);
  if (!revocation) return false;
  ctx.metrics.refusals.inc({ reason: "user_revoked" });
  sendError(res, 403, "USER_REVOKED", revokedMessage(revocation));
  return true;
}

/** The authenticated, not revoked caller of a sync endpoint and its JSON body; or an answer sent. */
async function syncRequest(
  ctx: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<{ principal: Principal; body: Record<string, unknown> } | undefined> {
  if (ctx.state() !== "ready") {
    sendError(res, 503, "UNAVAILABLE", "the relay is starting or stopping; retry shortly");
    return undefined;
  }
  let principal: Principal;
  try {
    principal = await ctx.verify(bearerToken(req));
  } catch (err) {
    sendAuthError(ctx, res, err);
    return undefined;
  }
  if (refusedAsRevoked(ctx, res, principal)) return undefined;
  try {
    return { principal, body: await readJson(req, 4 << 20) };
  } catch (err) {
    if (!(err instanceof OmsError)) throw err;
    sendError(res, 400, err.code, err.message);
    return undefined;
  }
}

/**
/**
 * `POST /v1/restore/receipts` `{ submissions, assistance }` (sealed entries of the caller's
 * ledger): the relay learns back what it lost; answers `{ learned, known, refused, conflicts }`.
 */
async function handleRestoreReceipts(
  ctx: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const request = await syncRequest(ctx, req, res);
  if (!request) return;
  if (!ctx.receipts) return sendError(res, 404, "NOT_FOUND", "this relay learns no receipts");
  try {
    return json(res, 200, await ctx.receipts.learn(request.principal, request.body));
  } catch (err) {
    if (!(err instanceof OmsError)) throw err;
    return sendError(res, 400, err.code, err.message);
  }
}

/**
 * `POST /v1/sync/bulk` `{ ids }`: stored documents as they are, CBOR `{ docs, unavailable, more }`
 * (`more`: asked for, not in this answer for its size: ask again).
 */
async function handleBulk(
  ctx: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const request = await syncRequest(ctx, req, res);
  if (!request) return;
  const { ids } = request.body;
  if (
    !Array.isArray(ids) ||
    ids.length > maxBulkDocuments ||
    ids.some((v) => typeof v !== "string")
  ) {
    return sendError(
      res,
      400,
      "INVALID_INPUT",
      `the body must be { "ids": [documentId] } with at most ${maxBulkDocuments} ids`,
    );
  }
  res.writeHead(200, { "content-type": "application/cbor", "cache-control": "no-store" });
  await streamTo(res, ctx.bulk.export(request.principal, ids as string[]));
}

/**
 * Writes the pieces as the peer reads them: waits for `drain` when the socket's buffer is full,
 * stops when the peer goes away, and lets other requests in between pieces.
 */
async function streamTo(res: ServerResponse, pieces: AsyncGenerator<Uint8Array>): Promise<void> {
  try {
    for await (const piece of pieces) {
      if (res.destroyed) return;
      if (!res.write(piece)) {
        await new Promise<void>((resume) => {
          const done = () => {
            res.off("drain", done);
            res.off("close", done);
            resume();
          };
          res.on("drain", done);
          res.on("close", done);
        });
      } else {
        await new Promise((next) => setImmediate(next));
      }
    }
    res.end();
  } finally {
    await pieces.return(undefined);
  }
}

/** `POST /v1/sync/digest`: which of the device's documents differ from the relay's. */
async function handleDigest(
  ctx: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const request = await syncRequest(ctx, req, res);
  if (!request) return;
  const { principal, body } = request;
  const { buckets, exclude } = body;
  if (
    typeof buckets !== "object" ||
    buckets === null ||
    Object.values(buckets).some((v) => typeof v !== "string") ||
    !Array.isArray(exclude) ||
    exclude.some((v) => typeof v !== "string")
  ) {
    return sendError(
      res,
      400,
      "INVALID_INPUT",
      'the body must be { "buckets": { bucket: digest }, "exclude": [documentId] }',
    );
  }
  return json(
    res,
    200,
    await ctx.digest.compare(principal, {
      buckets: buckets as Record<string, string>,
      exclude: exclude as string[],
    }),
  );
}
