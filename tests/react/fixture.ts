import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";
import { type ClientOptions, createClient, type OmsClient } from "../../src/client/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir } from "../integration/helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];

// Changes cross real sockets, often on a loaded machine: give findBy/waitFor 5 s, not 1 s.
configure({ asyncUtilTimeout: 5_000 });

afterEach(async () => {
  cleanup();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const folders = new WeakMap<Relay, string>();

/** A real relay on a random port with a temp folder, closed after the test. */
export async function relay(): Promise<Relay> {
  const data = tempDir("oms-react-");
  const r = await startRelay(data.dir);
  folders.set(r, data.dir);
  cleanups.push(data.remove, () => r.close());
  return r;
}

/** The same relay again (its folder and port) after `r.close()`: the device reconnects. */
export async function reopen(r: Relay): Promise<Relay> {
  const again = await startRelay(folders.get(r) as string, { port: r.port });
  cleanups.push(() => again.close());
  return again;
}

/** A client of `sub` (organization acme) over a real socket, closed after the test. */
export async function client(
  r: Relay,
  sub: string,
  options: Partial<ClientOptions> & { offline?: boolean; roles?: string[] } = {},
): Promise<OmsClient> {
  const { offline, roles, ...rest } = options;
  const token = await r.mintToken({
    sub,
    org: "acme",
    roles: roles ?? ["rep"],
    offline: offline ?? true,
  });
  const c = await createClient({
    url: r.url,
    token,
    storage: "memory",
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
    ...rest,
  });
  cleanups.push(() => c.close());
  return c;
}
