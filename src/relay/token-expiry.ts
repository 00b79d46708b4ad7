import { decodeJwt } from "jose";

/** setTimeout fires at once for delays beyond this (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

/** When a token that has been verified expires, in ms since the epoch; undefined if it never does. */
export function tokenExpiresAt(token: string): number | undefined {
  const { exp } = decodeJwt(token);
  return typeof exp === "number" ? exp * 1000 : undefined;
}

/**
 * Calls `expired` when `expiresAt` (ms since the epoch) has passed, unless `cancel` is called
 * first. A token is checked once, at the upgrade: without this a socket would go on syncing
 * under a token long expired (or revoked by the identity provider by letting it lapse).
 */
export function atExpiry(expiresAt: number, expired: () => void): { cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) return expired();
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref?.();
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}
