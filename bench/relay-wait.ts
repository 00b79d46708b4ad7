// What the bench's clients wait for: a connection to the relay, and the relay storing a document.
import type { DocHandle, PeerId } from "@automerge/automerge-repo";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";

/** A stock client connected to the relay at `url` with `token`. */
export async function connectClient(url: string, token: string): Promise<Repo> {
  const repo = new Repo({ network: [new WebSocketClientAdapter(`${url}/?token=${token}`, 1000)] });
  await new Promise<void>((r) => repo.networkSubsystem.once("peer", () => r()));
  return repo;
}

/** Resolves when the relay reported storing the handle at the device's heads. */
export function stored(repo: Repo, handle: DocHandle<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      const storageId = repo.getStorageIdOfPeer(repo.peers[0] as PeerId);
      const theirs = storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined;
      if (theirs && handle.heads().every((h) => theirs.includes(h))) {
        handle.off("remote-heads", check);
        resolve();
      }
    };
    handle.on("remote-heads", check);
    check();
  });
}

/**
 * Times `samples` edits of an order's notes on `from` until `to` (another device) sees each;
 * answers the latencies in ms, sorted. Edits are spaced past automerge-repo's 100 ms sync
 * throttle (on the device and on the relay): a burst is sent as one batch at most every 100 ms
 * by design; this measures a single edit.
 */
export async function timeEdits(
  from: DocHandle<{ notes?: string }>,
  to: DocHandle<{ notes?: string }>,
  samples: number,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const mark = `edit ${i}`;
    const arrived = new Promise<number>((resolve) => {
      const check = () => {
        if (to.doc().notes === mark) {
          to.off("change", check);
          resolve(performance.now());
        }
      };
      to.on("change", check);
    });
    const start = performance.now();
    from.change((o) => {
      o.notes = mark;
    });
    latencies.push((await arrived) - start);
    await new Promise((r) => setTimeout(r, 150));
  }
  return latencies.sort((x, y) => x - y);
}
