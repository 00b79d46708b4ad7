import type { AddressInfo } from "node:net";
// The full entry initialises Automerge's wasm; the adapters import the slim one.
import "@automerge/automerge-repo";
import { runNetworkAdapterTests } from "@automerge/automerge-repo/helpers/tests/network-adapter-tests.js";
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import { WebSocketServer } from "ws";
import { ClientSocketAdapter } from "../../src/adapters/network-ws-client.js";

// automerge-repo's conformance suite: two of our client adapters through a stock server.
runNetworkAdapterTests(async () => {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = () => {
    return new ClientSocketAdapter({ url: () => url });
  };
  return {
    adapters: [client(), new WebSocketServerAdapter(server as never), client()],
    teardown: () => server.close(),
  };
}, "ClientSocketAdapter");

// The suite is not run on the relay's GuardedServerAdapter: one of its cases announces the
// storage id "a", which the guard drops by design (only a UUID is accepted; see
// docs/protocol.md). Its other six cases pass there; the relay's integration tests cover the
// guarded adapter over real sockets.
