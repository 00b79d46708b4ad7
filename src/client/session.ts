import { OmsError } from "../docs/errors.js";
import type { SessionResponse } from "../relay/session.js";

export type { SessionResponse };

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
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
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
