/** The oracles of the stateful fuzz run, by name. */
export const oracleNames = [
  "relayExited",
  "healthzFailed",
  "editNotStored",
  "leakedMarker",
  "leakedDocument",
  "forgedRelayNotice",
  "spoofedSender",
  "phantomPeers",
  "notEditableAfter",
  "undecidedRequest",
  "flakyNotStored",
  "unhandledRejectionLog",
  "panicLog",
  "rssGrowth",
  "forgedTokenAccepted",
] as const;
export type OracleName = (typeof oracleNames)[number];

/** What the oracles found: a count per oracle and the first few examples of each. */
export class Findings {
  readonly counts = Object.fromEntries(oracleNames.map((n) => [n, 0])) as Record<
    OracleName,
    number
  >;
  readonly examples: Partial<Record<OracleName, string[]>> = {};
  /** Document ids involved in a finding, so the replay file can keep their histories first. */
  readonly documents = new Set<string>();
  onFirst?: (oracle: OracleName) => void;

  add(oracle: OracleName, example: string, documentId?: string): void {
    this.counts[oracle]++;
    if (documentId) this.documents.add(documentId);
    const list = this.examples[oracle] ?? [];
    this.examples[oracle] = list;
    if (list.length < 5) list.push(example.slice(0, 600));
    if (this.counts[oracle] === 1) this.onFirst?.(oracle);
  }

  /** Sets an oracle's count to an observed total (log lines counted elsewhere). */
  set(oracle: OracleName, count: number, example?: string): void {
    const was = this.counts[oracle];
    this.counts[oracle] = count;
    if (example && count > 0) this.examples[oracle] = [example.slice(0, 600)];
    if (was === 0 && count > 0) this.onFirst?.(oracle);
  }

  fired(): Partial<Record<OracleName, number>> {
    return Object.fromEntries(Object.entries(this.counts).filter(([, n]) => n > 0));
  }
}
