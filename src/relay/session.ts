import type { DocHandle, Repo } from "@automerge/automerge-repo/slim";
import { deepEqual } from "../docs/deep-equal.js";
import type { OrganizationId, UserId } from "../docs/ids.js";
import { createInbox } from "../docs/inbox.js";
import { createLedger } from "../docs/ledger.js";
import { createOrganization } from "../docs/organization.js";
import type { Organization } from "../docs/types.js";
import { createWorkspace } from "../docs/workspace.js";
import type { Principal } from "../policy/principal.js";
import { signRelayTime } from "./auth.js";
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

  constructor(
    repo: Repo,
    registry: DocumentRegistry,
    secret: Uint8Array,
    limits?: SessionResponse["limits"],
  ) {
    this.#repo = repo;
    this.#registry = registry;
    this.#secret = secret;
    this.#limits = limits;
  }

  async session(principal: Principal, now = Date.now()): Promise<SessionResponse> {
    const [workspace, ledger, inbox] = await Promise.all(
      (["workspace", "ledger", "inbox"] as const).map((kind) =>
        this.#userDocument(principal, kind),
      ),
    );
    const organization = await this.#organizationDocument(principal);
    const heads: Record<string, string[]> = {};
    for (const id of [workspace, ledger, inbox, organization]) {
      const handle = await this.#repo.find(id as never);
      heads[`automerge:${id}`] = [...handle.heads()];
    }
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
