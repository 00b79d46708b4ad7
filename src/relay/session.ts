import {
  type DocHandle,
  type DocumentId,
  decodeHeads,
  encodeHeads,
  type Repo,
} from "@automerge/automerge-repo/slim";
import { deepEqual } from "../docs/deep-equal.js";
import type { OrganizationId, UserId } from "../docs/ids.js";
import { createInbox } from "../docs/inbox.js";
import { createLedger } from "../docs/ledger.js";
import { createOrganization } from "../docs/organization.js";
import type { Organization } from "../docs/types.js";
import { createWorkspace } from "../docs/workspace.js";
import type { Principal } from "../policy/principal.js";
import { signRelayTime } from "./auth.js";
import type { HeadsIndex } from "./heads-index.js";
import type { DocumentRegistry } from "./registry.js";

/** The body of `GET /v1/session`. */
export interface SessionResponse {
  user: { userId: string; organization: string; roles: readonly string[]; offline: boolean };
  /** Automerge URLs of the user's own documents, created on first use. */
  documents: { workspace: string; ledger: string; inbox: string; organization: string };
  /** The relay's clock, and a receipt of it signed by the relay. */
  relayTime: { time: number; receipt: string };
  relay: { peerId: string; storageId: string | undefined };
  /**
   * The relay's heads of those documents now (automerge-repo encoded), so that a sync run can
   * wait for changes the relay has made but not yet sent (a new ledger entry).
   */
  heads: Record<string, string[]>;
  /** The relay's per-connection limits, so a client can stay within them. */
  limits?: {
    maxPayloadBytes: number;
    maxMessagesPerSecond: number;
    maxDocumentsPerConnection: number;
  };
}

const perUserKinds = {
  workspace: createWorkspace,
  ledger: createLedger,
  inbox: createInbox,
} as const;

/** Creates each user's workspace, ledger and inbox, and each organization's info, on first use. */
export class SessionService {
  readonly #repo: Repo;
  readonly #registry: DocumentRegistry;
  readonly #secret: Uint8Array;
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #limits: SessionResponse["limits"];
  readonly #heads: HeadsIndex | undefined;

  /**
   * `heads`: the relay's heads index, read for the heads of documents this node has not loaded
   * (a workspace whose "My" lists 20,000 orders takes seconds to load); without it they are loaded.
   */
  constructor(
    repo: Repo,
    registry: DocumentRegistry,
    secret: Uint8Array,
    limits?: SessionResponse["limits"],
    heads?: HeadsIndex,
  ) {
    this.#repo = repo;
    this.#registry = registry;
    this.#secret = secret;
    this.#limits = limits;
    this.#heads = heads;
  }

  async session(principal: Principal, now = Date.now()): Promise<SessionResponse> {
    const own = await Promise.all(
      (["workspace", "ledger", "inbox"] as const).map((kind) =>
        this.#userDocument(principal, kind),
      ),
    );
    const [workspace, ledger, inbox] = own;
    const organization = await this.#organizationDocument(principal);
    const heads = await this.#headsOf([...own, organization]);
    return {
      heads,
      user: {
        userId: principal.userId,
        organization: principal.organization,
        roles: principal.roles,
        offline: principal.offline,
      },
      documents: {
        workspace: `automerge:${workspace}`,
        ledger: `automerge:${ledger}`,
        inbox: `automerge:${inbox}`,
        organization: `automerge:${organization}`,
      },
      relayTime: {
        time: now,
        receipt: await signRelayTime(this.#secret, principal.userId, now, principal.organization),
      },
      relay: { peerId: this.#repo.peerId, storageId: await this.#repo.storageId() },
      ...(this.#limits ? { limits: this.#limits } : {}),
    };
  }

  /**
   * The relay's heads of each document (automerge-repo encoded): a loaded copy's own, else the
   * heads index's (recorded whenever the relay stores a document, so never behind what a device
   * was sent), else the document is loaded once and its heads recorded for the next session.
   */
  async #headsOf(ids: readonly string[]): Promise<Record<string, string[]>> {
    const heads: Record<string, string[]> = {};
    const loaded = (id: string) => {
      const handle = this.#repo.handles[id as DocumentId];
      return handle?.isReady() ? handle : undefined;
    };
    const indexed = this.#heads
      ? await this.#heads.entries(ids.filter((id) => !loaded(id)))
      : new Map<string, { heads: string[] }>();
    for (const id of ids) {
      const handle = loaded(id);
      const entry = indexed.get(id);
      if (handle) heads[`automerge:${id}`] = [...handle.heads()];
      else if (entry) heads[`automerge:${id}`] = encodeHeads(entry.heads as never);
      else {
        const found = await this.#repo.find(id as never);
        heads[`automerge:${id}`] = [...found.heads()];
        await this.#heads?.record(id, decodeHeads(found.heads()));
      }
    }
    return heads;
  }

  /** One creation at a time per key, so two concurrent first sessions make one document. */
  async #once(key: string, fn: () => Promise<string>): Promise<string> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    this.#locks.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

  #userDocument(principal: Principal, kind: keyof typeof perUserKinds): Promise<string> {
    return this.userDocument(principal.userId, principal.organization, kind);
  }

  /** The id of a user's workspace, ledger or inbox, created (and stored) on first use. */
  userDocument(
    userId: string,
    organizationId: string,
    kind: keyof typeof perUserKinds,
  ): Promise<string> {
    return this.#once(JSON.stringify([organizationId, userId, kind]), async () => {
      const existing = await this.#registry.userDocument(userId, organizationId, kind);
      if (existing) return existing;
      const owner = userId as UserId;
      const organization = organizationId as OrganizationId;
      const handle = this.#repo.create(perUserKinds[kind]({ owner, organization }));
      await this.#repo.flush([handle.documentId]);
      // Another node may have created this user's document meanwhile: the first registered wins.
      return this.#registry.registerUserDocument(handle.documentId, { kind, owner, organization });
    });
  }

  #organizationDocument(principal: Principal): Promise<string> {
    return this.#once(JSON.stringify([principal.organization]), async () => {
      const organization = principal.organization as OrganizationId;
      let id = await this.#registry.organizationDocument(organization);
      let handle: DocHandle<Organization>;
      if (id) {
        handle = await this.#repo.find<Organization>(id as never);
      } else {
        handle = this.#repo.create(createOrganization({ organization, name: organization }));
        id = handle.documentId;
      }
      // Membership follows the tokens the relay sees.
      // Own properties only: a user id such as "toString" must not find Object.prototype's.
      const members = handle.doc().members;
      const member = Object.hasOwn(members, principal.userId)
        ? members[principal.userId as UserId]
        : undefined;
      const roles = [...principal.roles];
      if (!member || !deepEqual([...member.roles], roles)) {
        handle.change((d) => {
          d.members[principal.userId as UserId] = { name: member?.name ?? principal.userId, roles };
        });
      }
      await this.#repo.flush([handle.documentId]);
      if (!(await this.#registry.organizationDocument(organization))) {
        return this.#registry.registerOrganizationDocument(id, organization);
      }
      return id;
    });
  }
}
