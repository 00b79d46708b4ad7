/**
 * Digests of many documents' heads, computed the same way on a device and on the relay, so that
 * a reconnect can tell in one exchange which documents differ instead of syncing each one.
 * Documents are grouped into buckets by the first character of their id (base58: 58 buckets).
 */

/** One document's heads (Automerge hex), as a short hash; order does not matter. */
export async function headsHash(heads: readonly string[]): Promise<string> {
  return (await sha256([...heads].sort().join(","))).slice(0, 16);
}

export function bucketOf(documentId: string): string {
  return documentId.charAt(0);
}

/** Bucket → digest of its documents' `id:hash` lines, sorted. */
export async function bucketDigests(
  hashes: ReadonlyMap<string, string>,
): Promise<Record<string, string>> {
  const buckets = new Map<string, string[]>();
  for (const [id, hash] of hashes) {
    const bucket = bucketOf(id);
    const lines = buckets.get(bucket) ?? [];
    lines.push(`${id}:${hash}`);
    buckets.set(bucket, lines);
  }
  const digests: Record<string, string> = {};
  for (const [bucket, lines] of buckets)
    digests[bucket] = (await sha256(lines.sort().join("\n"))).slice(0, 16);
  return digests;
}

async function sha256(text: string): Promise<string> {
  const bytes = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  let hex = "";
  for (const b of new Uint8Array(bytes)) hex += b.toString(16).padStart(2, "0");
  return hex;
}
