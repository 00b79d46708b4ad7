import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId } from "@automerge/automerge-repo";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { createAssistanceRequest } from "../../docs/assistance.js";
import { sameHeads } from "../../docs/heads.js";
import type { OrganizationId, UserId } from "../../docs/ids.js";
import { documentMeta } from "../../docs/kinds.js";
import { addSubmissionRequest, createOrder } from "../../docs/order.js";
import { createQuote } from "../../docs/quote.js";
import type { CommercialDocument, Order } from "../../docs/types.js";
import { type AccessPolicy, defaultAccessPolicy } from "../../policy/access.js";
import type { Principal } from "../../policy/principal.js";
import { signRelayTime } from "../../relay/auth.js";
import { applyDocumentAction } from "../apply-action.js";
import type { DocumentAction } from "../arbitraries.js";
import { SimDevice } from "./sim-device.js";
import { SimLink } from "./sim-network.js";
import { SIM_RELAY_SECRET, SimRelay } from "./sim-relay.js";

/** What a device's user does. `pick` chooses among the documents that fit, modulo their count. */
export type SimAction =
  | { readonly type: "create"; readonly kind: "quote" | "order" | "assistance" }
  | { readonly type: "edit"; readonly pick: number; readonly action: DocumentAction }
  | { readonly type: "submit"; readonly pick: number }
  /** Open a document the relay knows, whether or not the user may read it. */
  | { readonly type: "open"; readonly pick: number }
  /** A write the policy refuses (an owner change), made anyway, as a buggy client would. */
  | { readonly type: "forge"; readonly pick: number };

/** One step of a schedule. */
export type SimStep =
  | { readonly kind: "act"; readonly device: number; readonly action: SimAction }
  /** Deliver up to `count` queued messages, the scheduler choosing the link and direction. */
  | { readonly kind: "deliver"; readonly count: number }
  /** Deliver one queued message twice. */
  | { readonly kind: "duplicate" }
  /** The device's connection breaks (what is in flight is lost): a partition. */
  | { readonly kind: "fail"; readonly device: number }
  | { readonly kind: "connect"; readonly device: number }
  | { readonly kind: "restartDevice"; readonly device: number }
  | { readonly kind: "restartRelay" }
  | { readonly kind: "clock"; readonly device: number; readonly ms: number }
  /** The device syncs: if connected, deliveries until quiet, and a complete sync is recorded. */
  | { readonly kind: "sync"; readonly device: number };

export interface SimUser {
  readonly userId: string;
  readonly organization: string;
  readonly roles: readonly string[];
}

export interface SimWorldOptions {
  /** Decides every choice the schedule leaves open (which queue delivers next). */
  readonly seed: number;
  readonly users: readonly SimUser[];
  /** The user (index into `users`) of each device. */
  readonly devices: readonly number[];
  readonly policy?: AccessPolicy;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A world of devices and one relay, driven step by step. Real automerge-repo Repos on both
 * sides and the relay's real rules; the network, the clocks and the restarts are the schedule's.
 */
export class SimWorld {
  readonly relay: SimRelay;
  readonly devices: SimDevice[];
  readonly links: SimLink[];
  readonly actors = new Map<string, string>();
  readonly policy: AccessPolicy;
  readonly #rng;

  constructor(options: SimWorldOptions) {
    this.policy = options.policy ?? defaultAccessPolicy;
    this.#rng = xoroshiro128plus(options.seed);
    this.relay = new SimRelay(this.policy);
    const start = Date.UTC(2026, 0, 1);
    this.devices = options.devices.map((u, i) => {
      const user = options.users[u] as SimUser;
      const principal: Principal = {
        userId: user.userId as UserId,
        organization: user.organization as OrganizationId,
        roles: [...user.roles],
        offline: true,
      };
      return new SimDevice(
        `device-${i}-${user.userId}`,
        principal,
        this.policy,
        this.actors,
        start,
      );
    });
    this.links = this.devices.map((d) => this.#link(d));
  }

  #link(device: SimDevice): SimLink {
    const relay = this.relay;
    const link = new SimLink(device.name, device.endpoint, {
      deliverFrom: (l, m) => relay.adapter.deliverFrom(l, m),
      peerUp: (l) => relay.adapter.peerUp(l),
      peerDown: (l) => relay.adapter.peerDown(l),
      connected: () => relay.adapter.connected,
    });
    this.relay.principals.set(link, device.principal);
    return link;
  }

  #pick(n: number): number {
    return uniformInt(this.#rng, 0, n - 1);
  }

  /** Connects every device, as at the start of a run. */
  async start(): Promise<void> {
    for (const link of this.links) await link.connect();
    await this.quiesce();
  }

  async step(step: SimStep): Promise<void> {
    switch (step.kind) {
      case "act":
        this.#act(this.devices[step.device % this.devices.length] as SimDevice, step.action);
        break;
      case "deliver":
        for (let i = 0; i < step.count; i++) if (!this.#deliverOne(false)) break;
        break;
      case "duplicate":
        this.#deliverOne(true);
        break;
      case "fail":
        this.links[step.device % this.links.length]?.fail();
        break;
      case "connect":
        await this.links[step.device % this.links.length]?.connect();
        break;
      case "restartDevice": {
        const i = step.device % this.devices.length;
        const device = this.devices[i] as SimDevice;
        const wasUp = this.links[i]?.up;
        this.links[i]?.fail();
        await device.restart();
        this.links[i] = this.#link(device);
        if (wasUp) await this.links[i]?.connect();
        break;
      }
      case "restartRelay": {
        const up = this.links.filter((l) => l.up);
        await this.relay.restart(this.links);
        for (const link of up) await link.connect();
        break;
      }
      case "clock":
        this.devices[step.device % this.devices.length]?.moveClock(step.ms);
        break;
      case "sync": {
        const i = step.device % this.devices.length;
        if (this.links[i]?.up) {
          await this.quiesce();
          if (this.isSynced(i)) await this.#recordCompleteSync(i);
        }
        break;
      }
    }
    await sleep(0);
  }

  /** A complete sync on device i, with the relay's signed receipt of its time (as a session gives). */
  async #recordCompleteSync(i: number): Promise<void> {
    const device = this.devices[i];
    if (!device) return;
    const now = Date.now();
    await device.recordCompleteSync(
      now,
      await signRelayTime(
        SIM_RELAY_SECRET,
        device.principal.userId,
        now,
        device.principal.organization,
      ),
    );
  }

  #deliverOne(duplicate: boolean): boolean {
    const candidates: [SimLink, "toRelay" | "toDevice"][] = [];
    for (const link of this.links) {
      if (!link.up) continue;
      if (link.toRelay.length > 0) candidates.push([link, "toRelay"]);
      if (link.toDevice.length > 0) candidates.push([link, "toDevice"]);
    }
    if (candidates.length === 0) return false;
    const [link, direction] = candidates[this.#pick(candidates.length)] as [
      SimLink,
      "toRelay" | "toDevice",
    ];
    return link.deliverOne(direction, duplicate);
  }

  #documents(device: SimDevice, kinds: readonly string[]): DocHandle<CommercialDocument>[] {
    return device
      .handles()
      .filter((h) => {
        const meta = documentMeta(h.doc());
        return meta && kinds.includes(meta.kind) && this.policy.canWrite(device.principal, meta);
      })
      .sort((a, b) => (a.documentId < b.documentId ? -1 : 1)) as DocHandle<CommercialDocument>[];
  }

  #act(device: SimDevice, action: SimAction): void {
    const owned = {
      owner: device.principal.userId,
      organization: device.principal.organization,
      now: device.clock.now(),
    };
    switch (action.type) {
      case "create": {
        const initial =
          action.kind === "quote"
            ? createQuote({ ...owned, currency: "USD", customer: { name: "Customer" } })
            : action.kind === "order"
              ? createOrder({ ...owned, currency: "USD", customer: { name: "Customer" } })
              : createAssistanceRequest({ ...owned, subject: "Help" });
        const handle = device.repo.create(initial);
        device.actors.set(A.getActorId(handle.doc() as A.Doc<unknown>), device.principal.userId);
        const set = device.written.get(handle.documentId) ?? new Set<string>();
        for (const h of A.getHeads(handle.doc() as A.Doc<unknown>)) set.add(h);
        device.written.set(handle.documentId, set);
        return;
      }
      case "edit": {
        const docs = this.#documents(device, ["quote", "order"]);
        const handle = docs[action.pick % Math.max(1, docs.length)];
        if (handle)
          device.write(handle, (d) => applyDocumentAction(d, action.action, device.clock.now()));
        return;
      }
      case "submit": {
        const orders = this.#documents(device, ["order"]) as unknown as DocHandle<Order>[];
        const handle = orders[action.pick % Math.max(1, orders.length)];
        if (!handle) return;
        const heads = A.getHeads(handle.doc() as A.Doc<Order>);
        device.write(handle, (o) => {
          addSubmissionRequest(o, {
            requestedBy: device.principal.userId,
            heads,
            lastSyncAt: device.gate.state.lastSyncAt,
            lastSyncReceipt: device.gate.lastSyncReceipt,
            now: device.clock.now(),
          });
        });
        return;
      }
      case "open": {
        const ids = this.#registered();
        const id = ids[action.pick % Math.max(1, ids.length)];
        if (id)
          device.repo
            .find(id as DocumentId, { allowableStates: ["ready", "unavailable"] })
            .catch(() => undefined);
        return;
      }
      case "forge": {
        const docs = this.#documents(device, ["quote", "order", "assistance"]);
        const handle = docs[action.pick % Math.max(1, docs.length)];
        if (handle)
          device.write(
            handle,
            (d) => {
              (d as { owner: string }).owner = "forged-owner";
            },
            true,
          );
        return;
      }
    }
  }

  #registered(): string[] {
    return (
      this.relay.db.prepare("SELECT doc_id FROM documents ORDER BY doc_id").all() as {
        doc_id: string;
      }[]
    ).map((r) => r.doc_id);
  }

  /** Delivers everything (the scheduler choosing the order) until nothing moves for a while. */
  async quiesce(maxRounds = 200): Promise<void> {
    let quietRounds = 0;
    for (let round = 0; round < maxRounds && quietRounds < 3; round++) {
      let moved = false;
      while (this.#deliverOne(false)) moved = true;
      await this.relay.adapter.settled();
      await sleep(moved ? 5 : 60);
      const pending = this.links.some((l) => l.up && l.pending() > 0);
      quietRounds = moved || pending ? 0 : quietRounds + 1;
    }
    await this.relay.processor.idle();
  }

  /** Reconnects everything, lets each device open every document its user may read, and settles. */
  async heal(): Promise<void> {
    for (const link of this.links) await link.connect();
    for (const device of this.devices) device.loadMine();
    await this.quiesce();
    await this.relay.processor.schedule();
    for (const device of this.devices) {
      for (const id of this.#registered()) {
        const meta = this.relay.meta(id);
        if (meta && this.policy.canRead(device.principal, meta)) {
          device.repo
            .find(id as DocumentId, { allowableStates: ["ready", "unavailable"] })
            .catch(() => undefined);
        }
      }
    }
    await this.quiesce();
    for (let i = 0; i < this.devices.length; i++) {
      if (this.isSynced(i)) await this.#recordCompleteSync(i);
    }
  }

  /** True when every document the device holds (and did not fork) has the relay's heads. */
  isSynced(i: number): boolean {
    const device = this.devices[i] as SimDevice;
    return device.handles().every((h) => {
      if (device.forked.has(h.documentId)) return true;
      const relay = this.relay.repo.handles[h.documentId];
      if (!relay?.isReady()) return false;
      return sameHeads(
        A.getHeads(h.doc() as A.Doc<unknown>),
        A.getHeads(relay.doc() as A.Doc<unknown>),
      );
    });
  }

  async close(): Promise<void> {
    for (const link of this.links) link.fail();
    this.relay.processor.close();
    await this.relay.processor.idle();
    this.relay.db.close();
  }
}

/** Builds a world and connects it. */
export async function createSimWorld(options: SimWorldOptions): Promise<SimWorld> {
  const world = new SimWorld(options);
  await world.start();
  return world;
}
