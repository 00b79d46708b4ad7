import type { Logger } from "pino";

export interface RefusalLogLimits {
  /** Refusals logged one line each per connection; later ones are counted, not logged. */
  refusalLogFirst: number;
  /** At most one summary line per connection per interval, with the count left out. */
  refusalLogIntervalMs: number;
}

interface Tally {
  logged: number;
  suppressed: number;
  reasons: Record<string, number>;
  lastSummary: number;
}

/**
 * Logs refused messages per connection without letting one client write the log full: the first
 * `refusalLogFirst` in full, then a summary line per `refusalLogIntervalMs` (and one at close)
 * with how many were left out, by reason. Metrics count every refusal regardless.
 */
export class RefusalLog {
  readonly #tallies = new WeakMap<object, Tally>();

  constructor(
    private readonly log: Logger,
    private readonly limits: RefusalLogLimits,
    private readonly now: () => number = Date.now,
  ) {}

  refused(connection: object, fields: { reason: string; user: string; detail?: string }): void {
    let tally = this.#tallies.get(connection);
    if (!tally) {
      tally = { logged: 0, suppressed: 0, reasons: {}, lastSummary: this.now() };
      this.#tallies.set(connection, tally);
    }
    if (tally.logged < this.limits.refusalLogFirst) {
      tally.logged++;
      this.log.warn(fields, "message refused");
      return;
    }
    tally.suppressed++;
    tally.reasons[fields.reason] = (tally.reasons[fields.reason] ?? 0) + 1;
    if (this.now() - tally.lastSummary >= this.limits.refusalLogIntervalMs)
      this.#summary(tally, fields.user);
  }

  /**
   * The connection closed: logs what was left out since the last summary. The tally stays (until
   * the socket is collected): messages still queued are refused after the close, and must not
   * start a fresh allowance of lines.
   */
  closed(connection: object, user: string | undefined): void {
    const tally = this.#tallies.get(connection);
    if (tally && tally.suppressed > 0) this.#summary(tally, user);
  }

  #summary(tally: Tally, user: string | undefined): void {
    this.log.warn(
      { user, suppressed: tally.suppressed, reasons: tally.reasons },
      `${tally.suppressed} more refused message(s) on this connection were not logged one by one (refusalLogFirst); the refusals metric counts them all`,
    );
    tally.suppressed = 0;
    tally.reasons = {};
    tally.lastSummary = this.now();
  }
}
