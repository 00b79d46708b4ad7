import {
  type DocumentId,
  generateAutomergeUrl,
  parseAutomergeUrl,
} from "@automerge/automerge-repo";
import { afterEach, describe, expect, it } from "vitest";
import { fetchSession, type SessionResponse } from "../../src/client/session.js";
import { addToMy, asDocId, myIds, type Workspace } from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir } from "./helpers.js";

const MY = 2_000;

describe("GET /v1/session for a user with a large My", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function session(relay: Relay): Promise<SessionResponse> {
    const token = await relay.mintToken({
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });
    return fetchSession(relay.httpUrl, token);
  }

  it("answers with the workspace's heads without loading the workspace", async () => {
    const data = tempDir();
    cleanup.push(data.remove);
    let relay = await startRelay(data.dir);
    const first = await session(relay);
    const workspaceId = first.documents.workspace.replace(/^automerge:/, "") as DocumentId;
    const workspace = await relay.repo.find<Workspace>(workspaceId);
    workspace.change((w) => {
      for (let i = 0; i < MY; i++) {
        const id = parseAutomergeUrl(generateAutomergeUrl()).documentId;
        addToMy(w, asDocId(id), "order", 1_700_000_000_000 + i);
      }
    });
    await relay.repo.flush([workspaceId]);
    // With the workspace loaded, the answer is its own heads: what the relay answered before.
    const loaded = await session(relay);
    expect(loaded.heads[first.documents.workspace]).toEqual([...workspace.heads()]);
    await relay.close();

    relay = await startRelay(data.dir);
    cleanup.push(() => relay.close());
    const cold = await session(relay);
    expect(relay.repo.handles[workspaceId]).toBeUndefined();
    expect(cold.documents).toEqual(loaded.documents);
    expect(cold.heads).toEqual(loaded.heads);
    expect(cold.user).toEqual(loaded.user);
    // A device that syncs still gets the whole workspace from this relay.
    const reloaded = await relay.repo.find<Workspace>(workspaceId);
    expect(myIds(reloaded.doc())).toHaveLength(MY);
    expect([...reloaded.heads()]).toEqual(cold.heads[first.documents.workspace]);
  });
});
