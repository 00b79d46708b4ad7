import { OmsError } from "../docs/errors.js";
import type { SessionResponse } from "../relay/session.js";

export type { SessionResponse };

/**
 * How long `GET /v1/session` may take before the device counts the relay as unreachable and
 * starts offline from its cached session. Not longer for a first start: the relay answers from
 * its heads index without loading the user's documents (a few milliseconds whatever the size of
 * "My"), so a session that takes 10 s means an overloaded relay or a bad network, and a device with
 * a cached session should not wait longer than this to work offline. Nor retried here: every
 * sync run asks for the session again, and a first start (no cached session) that fails throws
 * OFFLINE for the caller to retry.
 */
export const SESSION_TIMEOUT_MS = 10_000;

/** The relay's HTTP base URL, from its WebSocket URL. */
export function httpUrlOf(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  return `${url.protocol}//${url.host}`;
}

/**
 * Reads `GET /v1/session`. Throws OmsError AUTH_EXPIRED / AUTH_REQUIRED for a refused token,
 * OFFLINE when the relay cannot be reached.
 */
export async function fetchSession(
  httpUrl: string,
  token: string,
  options: { fetch?: typeof fetch; timeoutMs?: number } = {},
): Promise<SessionResponse> {
  const doFetch = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await doFetch(`${httpUrl}/v1/session`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(options.timeoutMs ?? SESSION_TIMEOUT_MS),
    });
  } catch (cause) {
    throw new OmsError(
      "OFFLINE",
      `the relay at ${httpUrl} cannot be reached; work goes on on this device`,
      { cause },
    );
  }
  if (response.status === 401) {
    const body = (await response.json().catch(() => ({}))) as {
      error?: { code?: string; message?: string };
    };
    const code = body.error?.code === "AUTH_EXPIRED" ? "AUTH_EXPIRED" : "AUTH_REQUIRED";
    throw new OmsError(code, body.error?.message ?? "the relay refused the token: sign in again");
  }
  if (response.status === 403) {
    const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
    throw new OmsError(
      "USER_REVOKED",
      body.error?.message ?? "the relay revoked this user: ask an admin to reinstate you",
    );
  }
  if (!response.ok) {
    throw new OmsError("OFFLINE", `the relay answered ${response.status}; it will be tried again`);
  }
  return (await response.json()) as SessionResponse;
}
