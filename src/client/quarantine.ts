import * as A from "@automerge/automerge";
import type { WriteRefusal } from "../policy/write-validation.js";
import type { DeviceStore } from "./device-store.js";

/**
 * One change of a quarantined document that the relay did not store. A change that Automerge
 * cannot decode (a value it cannot turn into JavaScript, say) is kept all the same, as bytes in
 * the export, with its fields null and `undecodable` saying why.
 */
export interface UnsyncedChange {
  readonly hash: string | null;
  readonly actor: string | null;
  readonly seq: number | null;
  /** Seconds since the epoch, as the writing device's clock had it. */
  readonly time: number | null;
  readonly message: string | null;
  /** Why the change could not be decoded; absent when it could. */
  readonly undecodable?: string;
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
  /** The document with the unsynced changes, as JSON; null when it cannot be read back. */
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

/** Reads a change's metadata; `A.decodeChange` unless a test passes another. */
export type ChangeDecoder = (bytes: A.Change) => A.DecodedChange;

/**
 * The changes of `doc` that are not ancestors of `relayHeads`: what the relay does not have. A
 * head this copy lacks cannot be followed, so the changes behind it count as unsynced (reporting
 * too much keeps work; too little would lose it). A change that cannot be decoded (`change` is
 * null, `error` says why) cannot be placed in the history either, so it always counts.
 */
export function unsyncedChanges(
  doc: A.Doc<unknown>,
  relayHeads: readonly string[] | undefined,
  decode: ChangeDecoder = A.decodeChange,
): { change: A.DecodedChange | null; bytes: A.Change; error?: string }[] {
  const all = A.getAllChanges(doc).map((bytes) => {
    try {
      return { change: decode(bytes), bytes };
    } catch (err) {
      return { change: null, bytes, error: String(err) };
    }
  });
  const byHash = new Map<string, A.DecodedChange>();
  for (const { change } of all) if (change?.hash) byHash.set(change.hash, change);
  const known = new Set<string>();
  const stack = (relayHeads ?? []).filter((h) => byHash.has(h));
  for (let hash = stack.pop(); hash !== undefined; hash = stack.pop()) {
    if (known.has(hash)) continue;
    known.add(hash);
    for (const dep of byHash.get(hash)?.deps ?? []) if (!known.has(dep)) stack.push(dep);
  }
  return all.filter((c) => !c.change?.hash || !known.has(c.change.hash));
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
      unsyncedChanges: unsynced.map(({ change, error }) =>
        change
          ? {
              hash: change.hash ?? null,
              actor: change.actor,
              seq: change.seq,
              time: change.time,
              message: change.message,
            }
          : {
              hash: null,
              actor: null,
              seq: null,
              time: null,
              message: null,
              undecodable: error ?? "",
            },
      ),
      relayHeads: input.relayHeads ?? null,
      // The raw changes are the part that must survive whatever else fails.
      changes: unsynced.map(({ bytes }) => toBase64(bytes)),
      binary: wholeDocument(input.doc),
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
      document: readable(stored.binary),
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

function wholeDocument(doc: A.Doc<unknown>): string {
  try {
    return toBase64(A.save(doc));
  } catch {
    return "";
  }
}

// The document as JSON, or null when it cannot be read back: `changes` still hold the work.
function readable(binary: string): unknown {
  try {
    return binary ? A.toJS(A.load(fromBase64(binary))) : null;
  } catch {
    return null;
  }
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
