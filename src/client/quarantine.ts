import * as A from "@automerge/automerge";
import type { WriteRefusal } from "../policy/write-validation.js";
import type { DeviceStore } from "./device-store.js";

/** One change of a quarantined document that the relay did not store. */
export interface UnsyncedChange {
  readonly hash: string;
  readonly actor: string;
  readonly seq: number;
  /** Seconds since the epoch, as the writing device's clock had it. */
  readonly time: number;
  readonly message: string | null;
}

/** A document whose local changes the relay refused: kept here until the user discards it. */
export interface QuarantineEntry {
  readonly documentId: string;
  readonly kind: string | undefined;
  /** Why the relay refused, in its words. */
  readonly reasons: readonly WriteRefusal[];
  /** True when the user lost access (the document also left "My"). */
  readonly accessLost: boolean;
  /** Device time of the refusal. */
  readonly quarantinedAt: number;
  readonly unsyncedChanges: readonly UnsyncedChange[];
}

/** The JSON `export` produces: the document as this device had it, and the refused changes. */
export interface QuarantineExport extends QuarantineEntry {
  readonly format: "oms-sync/quarantine@1";
  /** The document with the unsynced changes, as JSON. */
  readonly document: unknown;
  /** The relay's heads this device was told of (Automerge hex), or null. */
  readonly relayHeads: readonly string[] | null;
  /** Each unsynced change, binary, base64: `Automerge.applyChanges` takes them back. */
  readonly changes: readonly string[];
  /** The whole document, `Automerge.save` format, base64. */
  readonly binary: string;
}

interface Stored extends QuarantineEntry {
  relayHeads: readonly string[] | null;
  changes: string[];
  binary: string;
}

const RECORD = "quarantine";

/**
 * The changes of `doc` that are not ancestors of `relayHeads`: what the relay does not have. A
 * head this copy lacks cannot be followed, so the changes behind it count as unsynced (reporting
 * too much keeps work; too little would lose it).
 */
export function unsyncedChanges(
  doc: A.Doc<unknown>,
  relayHeads: readonly string[] | undefined,
): { change: A.DecodedChange; bytes: A.Change }[] {
  const all = A.getAllChanges(doc).map((bytes) => ({ change: A.decodeChange(bytes), bytes }));
  const byHash = new Map(all.map((c) => [c.change.hash, c.change]));
  const known = new Set<string>();
  const stack = (relayHeads ?? []).filter((h) => byHash.has(h));
  for (let hash = stack.pop(); hash !== undefined; hash = stack.pop()) {
    if (known.has(hash)) continue;
    known.add(hash);
    for (const dep of byHash.get(hash)?.deps ?? []) if (!known.has(dep)) stack.push(dep);
  }
  return all.filter((c) => !known.has(c.change.hash as string));
}

/**
 * Documents with refused local changes, kept on the device (beside the documents, in the same
 * storage) so that nothing a user wrote is silently lost.
 */
export class Quarantine {
  readonly #store: DeviceStore;
  readonly #listeners = new Set<(entries: QuarantineEntry[]) => void>();
  #entries: Map<string, Stored> | undefined;

  constructor(store: DeviceStore) {
    this.#store = store;
  }

  async #load(): Promise<Map<string, Stored>> {
    if (!this.#entries) {
      const saved = (await this.#store.get<Stored[]>(RECORD)) ?? [];
      this.#entries ??= new Map(saved.map((e) => [e.documentId, e]));
    }
    return this.#entries;
  }

  async #save(entries: Map<string, Stored>): Promise<void> {
    await this.#store.set(RECORD, [...entries.values()]);
    const list = [...entries.values()].map(summary);
    for (const listener of this.#listeners) listener(list);
  }

  async size(): Promise<number> {
    return (await this.#load()).size;
  }

  async list(): Promise<QuarantineEntry[]> {
    return [...(await this.#load()).values()].map(summary);
  }

  has(documentId: string, hashes: readonly string[]): boolean {
    const existing = this.#entries?.get(documentId);
    return (
      existing !== undefined &&
      hashes.every((h) => existing.unsyncedChanges.some((c) => c.hash === h))
    );
  }

  /**
   * Keeps a refused copy. A later refusal of the same document replaces the entry: the later copy
   * contains the earlier one (changes are never taken away locally).
   */
  async add(input: {
    documentId: string;
    doc: A.Doc<unknown>;
    reasons: readonly WriteRefusal[];
    accessLost: boolean;
    relayHeads: readonly string[] | undefined;
    now: number;
  }): Promise<QuarantineEntry | undefined> {
    const unsynced = unsyncedChanges(input.doc, input.relayHeads);
    if (unsynced.length === 0) return undefined;
    const entries = await this.#load();
    const stored: Stored = {
      documentId: input.documentId,
      kind: kindOf(input.doc),
      reasons: input.reasons,
      accessLost: input.accessLost,
      quarantinedAt: input.now,
      unsyncedChanges: unsynced.map(({ change }) => ({
        hash: change.hash as string,
        actor: change.actor,
        seq: change.seq,
        time: change.time,
        message: change.message,
      })),
      relayHeads: input.relayHeads ?? null,
      changes: unsynced.map(({ bytes }) => toBase64(bytes)),
      binary: toBase64(A.save(input.doc)),
    };
    entries.set(input.documentId, stored);
    await this.#save(entries);
    return summary(stored);
  }

  async export(documentId: string): Promise<QuarantineExport | undefined> {
    const stored = (await this.#load()).get(documentId);
    if (!stored) return undefined;
    return {
      format: "oms-sync/quarantine@1",
      ...summary(stored),
      document: A.toJS(A.load(fromBase64(stored.binary))),
      relayHeads: stored.relayHeads,
      changes: stored.changes,
      binary: stored.binary,
    };
  }

  async discard(documentId: string): Promise<boolean> {
    const entries = await this.#load();
    if (!entries.delete(documentId)) return false;
    await this.#save(entries);
    return true;
  }

  subscribe(listener: (entries: QuarantineEntry[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function summary(stored: Stored): QuarantineEntry {
  return {
    documentId: stored.documentId,
    kind: stored.kind,
    reasons: stored.reasons,
    accessLost: stored.accessLost,
    quarantinedAt: stored.quarantinedAt,
    unsyncedChanges: stored.unsyncedChanges,
  };
}

function kindOf(doc: A.Doc<unknown>): string | undefined {
  const kind = (doc as { kind?: unknown }).kind;
  return typeof kind === "string" ? kind : undefined;
}

// Browser-safe base64 (no Buffer in a page).
function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
