import type { DocumentId, Repo } from "@automerge/automerge-repo/slim";
import { bucketDigests, bucketOf } from "../docs/heads-digest.js";
import type { Workspace } from "../docs/types.js";
import { myIds } from "../docs/workspace.js";
import type { Principal } from "../policy/principal.js";
import type { HeadsIndex } from "./heads-index.js";
import type { DocumentRegistry } from "./registry.js";
import type { WriteGate } from "./write-gate.js";

/** The body of `POST /v1/sync/digest`. */
export interface DigestRequest {
  /** Bucket → digest of the device's documents in it that it holds as last synced. */
  buckets: Record<string, string>;
  /** Documents the device changed since (synced the usual way): left out on both sides. */
  exclude: string[];
}

/** Per bucket that differs, the relay's documents in it and the hash of each one's heads. */
export interface DigestResponse {
  differing: Record<string, [id: string, hash: string][]>;
  /** Documents the relay counted in the user's scope. */
  documents: number;
}

/**
 * Compares a device's digest of its documents' heads with the relay's, for the user's scope:
 * their workspace, ledger, inbox, organization and every document in "My" they may read.
 */
export class SyncDigestService {
  constructor(
    private readonly o: {
      repo: Repo;
      registry: DocumentRegistry;
      index: HeadsIndex;
      gate: WriteGate;
    },
  ) {}

  async compare(principal: Principal, request: DigestRequest): Promise<DigestResponse> {
    const { registry, repo, index, gate } = this.o;
    const [workspaceId, ledgerId, inboxId, organizationId] = await Promise.all([
      registry.userDocument(principal.userId, principal.organization, "workspace"),
      registry.userDocument(principal.userId, principal.organization, "ledger"),
      registry.userDocument(principal.userId, principal.organization, "inbox"),
      registry.organizationDocument(principal.organization),
    ]);
    const own = [workspaceId, ledgerId, inboxId, organizationId].filter(
      (id): id is string => id !== undefined,
    );
    const my: string[] = [];
    if (workspaceId) {
      const workspace = await repo.find<Workspace>(workspaceId as DocumentId);
      my.push(...myIds(workspace.doc()));
    }
    const excluded = new Set(request.exclude);
    const candidates = [...new Set([...own, ...my])].filter((id) => !excluded.has(id));
    // One registry read for the whole scope, not one per document.
    const readable = await gate.mayReadAll(principal, candidates);
    const scope = candidates.filter((_, i) => readable[i]);
    const hashes = await index.hashes(scope);
    const ours = await bucketDigests(hashes);
    // Bucket names come from the request: own properties only, and no prototype to write to
    // (a bucket named "__proto__" is a bucket).
    const differing: DigestResponse["differing"] = Object.create(null);
    const at = (o: Record<string, string>, k: string) => (Object.hasOwn(o, k) ? o[k] : undefined);
    for (const bucket of new Set([...Object.keys(ours), ...Object.keys(request.buckets)])) {
      if (at(ours, bucket) === at(request.buckets, bucket)) continue;
      differing[bucket] = [...hashes]
        .filter(([id]) => bucketOf(id) === bucket)
        .map(([id, hash]) => [id, hash]);
    }
    return { differing, documents: scope.length };
  }
}
