import { createHash } from "node:crypto";

const MAGIC = [0x85, 0x6f, 0x4a, 0x83] as const;
const CHANGE_CHUNK = 1;

/**
 * The hashes of the changes in `bytes` when it is a run of uncompressed Automerge change chunks
 * (what `A.saveSince` returns, so what a Repo stores as an incremental chunk); `undefined` for
 * anything else (a document chunk, a compressed change, bytes cut short). A change's hash is the
 * SHA-256 of its chunk type, length and body, which is also what its header's checksum starts
 * with: a hash answered here names exactly the bytes it was computed from.
 */
export function changeHashes(bytes: Uint8Array): string[] | undefined {
  const hashes: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 10) return undefined;
    for (let i = 0; i < 4; i++) if (bytes[at + i] !== MAGIC[i]) return undefined;
    if (bytes[at + 8] !== CHANGE_CHUNK) return undefined;
    let length = 0;
    let shift = 0;
    let cursor = at + 9;
    for (;;) {
      if (cursor >= bytes.length || shift > 28) return undefined;
      const byte = bytes[cursor++] as number;
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) break;
    }
    const end = cursor + length;
    if (end > bytes.length) return undefined;
    const hash = createHash("sha256")
      .update(bytes.subarray(at + 8, end))
      .digest();
    for (let i = 0; i < 4; i++) if (bytes[at + 4 + i] !== hash[i]) return undefined;
    hashes.push(hash.toString("hex"));
    at = end;
  }
  return hashes.length > 0 ? hashes : undefined;
}

/** automerge-repo's name for a snapshot of a document at `heads` (its storage key's last part). */
export function snapshotName(heads: readonly string[]): string {
  return createHash("sha256").update(heads.join("")).digest("hex");
}

/** automerge-repo's name for an incremental chunk (its storage key's last part). */
export function incrementalName(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
