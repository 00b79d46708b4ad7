// "Complete" for a stock automerge-repo client, as the benches define it: the relay reported, for
// each document, the heads this device holds. Browser-safe (the stock page uses it too).
import type { DocHandle, PeerId, Repo } from "@automerge/automerge-repo";

const holds = (repo: Repo, handle: DocHandle<unknown>): boolean => {
  const storageId = repo.getStorageIdOfPeer(repo.peers[0] as PeerId);
  const theirs = storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined;
  const mine = handle.heads();
  return !!theirs && theirs.length === mine.length && mine.every((h) => theirs.includes(h));
};

/**
 * Resolves when the relay holds every handle's heads. Only the handles not yet done are looked
 * at, first in order, every 20 ms, so the check does not compete with the sync.
 */
export async function relayHoldsAll(repo: Repo, handles: DocHandle<unknown>[]): Promise<void> {
  const pending = new Set(handles);
  while (pending.size > 0) {
    for (const h of pending) {
      if (holds(repo, h)) pending.delete(h);
      else break;
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves when the relay holds this handle's heads (on its remote-heads events). */
export function relayHolds(repo: Repo, handle: DocHandle<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!holds(repo, handle)) return;
      handle.off("remote-heads", check);
      resolve();
    };
    handle.on("remote-heads", check);
    check();
  });
}
