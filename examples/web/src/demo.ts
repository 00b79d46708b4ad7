// The demo around the page: its users (tokens the example server signs) and a clock the page can
// move forward, to show the staleness gate.
import type { Clock } from "oms-sync";

export interface DemoUser {
  sub: string;
  name: string;
  org: string;
  token: string;
  offline: boolean;
}

export interface Demo {
  relayUrl: string;
  users: DemoUser[];
}

const demoKey = "oms-demo";
const userKey = "oms-demo-user";
const offsetKey = "oms-demo-clock-offset";

/** The demo's users; the last copy when the page server cannot be reached. */
export async function loadDemo(): Promise<Demo | null> {
  try {
    const fresh = (await (await fetch("./demo.json")).json()) as Demo;
    localStorage.setItem(demoKey, JSON.stringify(fresh));
    return fresh;
  } catch {
    return JSON.parse(localStorage.getItem(demoKey) ?? "null") as Demo | null;
  }
}

export const signedInUser = (demo: Demo) =>
  demo.users.find((u) => u.sub === localStorage.getItem(userKey));

export function signIn(sub: string): void {
  localStorage.setItem(userKey, sub);
  location.reload();
}

export function signOut(): void {
  localStorage.removeItem(userKey);
  location.hash = "";
  location.reload();
}

/** The real clock plus an offset the page can move. */
export const demoClock: Clock = {
  now: () => Date.now() + Number(localStorage.getItem(offsetKey) ?? 0),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as number),
};

/** Moves the demo clock `days` forward; 0 puts it back to the real time. */
export function moveClock(days: number): void {
  if (days === 0) localStorage.removeItem(offsetKey);
  else
    localStorage.setItem(
      offsetKey,
      String(Number(localStorage.getItem(offsetKey) ?? 0) + days * 86_400_000),
    );
}
