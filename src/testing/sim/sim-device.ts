import * as A from "@automerge/automerge";
import { type DocHandle, type PeerId, Repo } from "@automerge/automerge-repo";
import { flushReady } from "../../adapters/flush-ready.js";
import { MemoryStorageAdapter } from "../../adapters/storage-memory.js";
import { ClientGate } from "../../client/client-gate.js";
import { DeviceStore } from "../../client/device-store.js";
import { documentMeta } from "../../docs/kinds.js";
import type { AccessPolicy } from "../../policy/access.js";
import type { Principal } from "../../policy/principal.js";
import { validateWrite } from "../../policy/write-validation.js";
import { createManualClock, type ManualClock } from "../manual-clock.js";
import { SimEndpoint } from "./sim-network.js";

/**
 * A device in a simulation: a real Repo on in-memory storage that survives `restart()`, the
 * user's principal, a clock of its own with the client's staleness gate, and a record of what it
 * wrote (to check that nothing is lost) and of documents it forked with a refused write.
 */
export class SimDevice {
  readonly storage = new MemoryStorageAdapter();
  readonly clock: ManualClock;
  readonly gate: ClientGate;
  /** Change hashes this device wrote with the right to write them, per document. */
  readonly written = new Map<string, Set<string>>();
  /** Documents this device forked with a write the relay refuses. */
  readonly forked = new Set<string>();
  /** Levels the gate reported, with the count of complete syncs at that moment. */
  readonly gateLog: { level: string; syncs: number }[] = [];
  syncs = 0;
  endpoint!: SimEndpoint;
  repo!: Repo;
  restarts = 0;

  constructor(
    readonly name: string,
    readonly principal: Principal,
    readonly policy: AccessPolicy,
    /** Records which user writes with which actor (for the isolation check). */
    readonly actors: Map<string, string>,
    start: number,
  ) {
    this.clock = createManualClock(start);
    this.gate = new ClientGate(this.clock, new DeviceStore(undefined), {}, true);
    this.#start();
  }

  #start(): void {
    this.endpoint = new SimEndpoint();
    this.repo = new Repo({
      network: [this.endpoint],
      storage: this.storage,
      peerId: `${this.name}-${this.restarts}` as PeerId,
    });
  }

  async restart(): Promise<void> {
    await flushReady(this.repo);
    this.restarts++;
    this.#start();
    this.loadMine();
  }

  /**
   * Loads, from the device's storage, every document this device wrote: what the client does with
   * its "My" documents at each sync run (a Repo only syncs documents it has loaded).
   */
  loadMine(): void {
    for (const id of [...this.written.keys(), ...this.forked]) {
      this.repo
        .find(id as never, { allowableStates: ["ready", "unavailable"] })
        .catch(() => undefined);
    }
  }

  /** Documents loaded on this device. */
  handles(): DocHandle<unknown>[] {
    return Object.values(this.repo.handles).filter((h) => h.isReady()) as DocHandle<unknown>[];
  }

  /**
   * Changes a document as the client does: the change is checked first and not made if the
   * policy refuses it (returns false). With `forge`, it is made anyway, as a buggy client would.
   */
  write<T>(handle: DocHandle<T>, fn: (doc: T) => void, forge = false): boolean {
    const before = handle.doc();
    let after: A.Doc<T>;
    try {
      after = A.change(A.clone(before as A.Doc<T>), (d) => fn(d as T));
    } catch {
      return false;
    }
    const existed = A.getHeads(before as A.Doc<T>).length > 0 && documentMeta(before) !== undefined;
    const ok = validateWrite({
      principal: this.principal,
      before: existed ? before : undefined,
      after,
      policy: this.policy,
    }).ok;
    if (!ok && !forge) return false;
    handle.change((d) => fn(d as T));
    const doc = handle.doc() as A.Doc<T>;
    this.actors.set(A.getActorId(doc), this.principal.userId);
    if (!ok) {
      this.forked.add(handle.documentId);
      return true;
    }
    const last = A.getLastLocalChange(doc);
    if (last) {
      const set = this.written.get(handle.documentId) ?? new Set<string>();
      set.add(A.decodeChange(last).hash as string);
      this.written.set(handle.documentId, set);
    }
    return true;
  }

  /** Moves this device's clock (backwards too) and logs the gate's level. */
  moveClock(ms: number): void {
    this.clock.set(this.clock.now() + ms);
    this.logGate();
  }

  logGate(): void {
    this.gateLog.push({ level: this.gate.state.level, syncs: this.syncs });
  }

  async recordCompleteSync(relayTime: number, receipt?: string): Promise<void> {
    this.syncs++;
    await this.gate.recordCompleteSync(relayTime, this.clock.now(), receipt);
    this.logGate();
  }
}
