import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The relay's seal on what it writes into a ledger (an outcome, a ticket): an HMAC-SHA256 with
 * the relay's secret. A ledger lives on devices too; after the relay lost data (a restore from
 * an older backup, a deleted data folder) a device hands its copy back, and the seal tells the
 * relay which entries it wrote itself. See docs/operations.md, "A relay restored from a backup".
 */
export interface Seal {
  /** The users whose ledgers hold the entry (an order's owner and the requester). */
  owner: string;
  requestedBy?: string;
  /** The organization's sequence value behind the entry's number, when it introduced one. */
  sequence?: number;
  mac: string;
}

/** JSON with keys sorted at every level: the same value gives the same text wherever it is built. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** What a seal covers: the entry without its seal, where it belongs, and the seal's own fields. */
export interface SealSubject {
  organization: string;
  /** `request:<id>` for an outcome, `ticket:<docId>` for a ticket. */
  key: string;
  entry: Record<string, unknown>;
  owner: string;
  requestedBy?: string;
  sequence?: number;
}

function mac(secret: Uint8Array, subject: SealSubject): Buffer {
  const { seal: _ignored, ...entry } = subject.entry;
  return createHmac("sha256", secret)
    .update("oms-sync/receipt-seal@1\n")
    .update(canonicalJson({ ...subject, entry }))
    .digest();
}

export function sealOf(secret: Uint8Array, subject: SealSubject): Seal {
  return {
    owner: subject.owner,
    ...(subject.requestedBy !== undefined ? { requestedBy: subject.requestedBy } : {}),
    ...(subject.sequence !== undefined ? { sequence: subject.sequence } : {}),
    mac: mac(secret, subject).toString("base64url"),
  };
}

/** True when `seal` is this relay's seal on the entry, for this organization and key. */
export function verifySeal(
  secret: Uint8Array,
  organization: string,
  key: string,
  entry: Record<string, unknown>,
  seal: unknown,
): seal is Seal {
  if (typeof seal !== "object" || seal === null) return false;
  const s = seal as Record<string, unknown>;
  if (typeof s.mac !== "string" || typeof s.owner !== "string") return false;
  if (s.requestedBy !== undefined && typeof s.requestedBy !== "string") return false;
  if (s.sequence !== undefined && !Number.isSafeInteger(s.sequence)) return false;
  const expected = mac(secret, {
    organization,
    key,
    entry,
    owner: s.owner,
    ...(s.requestedBy !== undefined ? { requestedBy: s.requestedBy as string } : {}),
    ...(s.sequence !== undefined ? { sequence: s.sequence as number } : {}),
  });
  const given = Buffer.from(s.mac, "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
