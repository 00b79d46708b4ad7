import { createLocalJWKSet, errors, type JSONWebKeySet, jwtVerify, SignJWT } from "jose";
import { OmsError } from "../docs/errors.js";
import { type Principal, parsePrincipal } from "../policy/principal.js";

/** How the relay checks tokens: HS256 with a shared secret, RS256/ES256 with public keys. */
export interface TokenKeys {
  /** Shared secret for HS256 (also signs the relay's own tokens: dev tokens, relay time). */
  readonly secret: Uint8Array;
  /** Public keys for RS256 / ES256, as a JWK set. */
  readonly jwks?: JSONWebKeySet;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

const asymmetric = ["RS256", "ES256"] as const;

/**
 * Makes a verifier that turns a JWT into a principal, or throws an OmsError: AUTH_EXPIRED for an
 * expired token, AUTH_REQUIRED for anything else (missing, malformed, bad signature, bad claims).
 */
export function createTokenVerifier(keys: TokenKeys): TokenVerifier {
  const jwks = keys.jwks ? createLocalJWKSet(keys.jwks) : undefined;
  return async (token) => {
    if (typeof token !== "string" || token.length === 0) {
      throw new OmsError(
        "AUTH_REQUIRED",
        // One verifier serves both transports, which carry the token differently.
        "no token: HTTP endpoints take it in an `authorization: Bearer <JWT>` header (never in the URL); the WebSocket takes it as the `token` query parameter",
      );
    }
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          if (header.alg === "HS256") return keys.secret;
          if (jwks && (asymmetric as readonly string[]).includes(header.alg ?? ""))
            return jwks(header);
          throw new OmsError(
            "AUTH_REQUIRED",
            `tokens signed with ${header.alg} are not accepted here`,
          );
        },
        { algorithms: jwks ? ["HS256", ...asymmetric] : ["HS256"], requiredClaims: ["exp", "sub"] },
      );
      if (payload.typ === "oms-relay-time") {
        throw new OmsError("AUTH_REQUIRED", "a relay-time receipt is not an access token");
      }
      return parsePrincipal(payload as Record<string, unknown>);
    } catch (cause) {
      if (cause instanceof OmsError) throw cause;
      if (cause instanceof errors.JWTExpired) {
        throw new OmsError(
          "AUTH_EXPIRED",
          "the token has expired: get a fresh token and reconnect",
          { cause },
        );
      }
      throw new OmsError(
        "AUTH_REQUIRED",
        "the token is not valid (bad signature, format or claims): get a new token",
        {
          cause,
        },
      );
    }
  };
}

export interface TokenRequest {
  sub: string;
  org: string;
  roles: readonly string[];
  offline?: boolean;
  /** Lifetime, e.g. "8h", "15m", or seconds. Default 8h. */
  ttl?: string | number;
}

/** Signs an HS256 token with the relay's secret: for development, tests and demo users. */
export async function mintToken(secret: Uint8Array, request: TokenRequest): Promise<string> {
  parsePrincipal({ ...request, roles: [...request.roles] });
  const ttl = request.ttl ?? "8h";
  return new SignJWT({
    org: request.org,
    roles: [...request.roles],
    offline: request.offline === true,
  })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(request.sub)
    .setIssuedAt()
    .setExpirationTime(typeof ttl === "number" ? Math.floor(Date.now() / 1000) + ttl : ttl)
    .sign(secret);
}

/**
 * A receipt of the relay's clock for one user of one organization, signed so that the relay can
 * later trust it (a submission request carries the receipt of its device's last complete sync).
 */
export async function signRelayTime(
  secret: Uint8Array,
  userId: string,
  time: number,
  organization?: string,
): Promise<string> {
  return new SignJWT({
    typ: "oms-relay-time",
    t: time,
    ...(organization ? { org: organization } : {}),
  })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(userId)
    .setIssuedAt(Math.floor(time / 1000))
    .sign(secret);
}

/**
 * Checks a relay-time receipt and returns the time it states. With `organization`, the receipt
 * must have been issued for that organization too (user ids may repeat across organizations).
 */
export async function verifyRelayTime(
  secret: Uint8Array,
  userId: string,
  receipt: string,
  organization?: string,
): Promise<number> {
  const { payload } = await jwtVerify(receipt, secret, { algorithms: ["HS256"], subject: userId });
  if (payload.typ !== "oms-relay-time" || typeof payload.t !== "number") {
    throw new OmsError("AUTH_REQUIRED", "not a relay-time receipt");
  }
  if (organization !== undefined && payload.org !== organization) {
    throw new OmsError(
      "AUTH_REQUIRED",
      `the receipt was not issued for organization ${organization}`,
    );
  }
  return payload.t;
}
