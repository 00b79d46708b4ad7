import type { Logger } from "pino";

export interface StoreHealthOptions {
  /** Resolves when the store answers (RelayStore.ping). */
  ping: () => Promise<void>;
  /** How often the store is checked. */
  intervalMs: number;
  /** Longest wait for one answer: a ping that hangs counts as a failure. */
  timeoutMs: number;
  /**
   * Failed checks in a row before the node goes down: one slow answer on a busy node (event loop
   * lag, a long query) must not close every socket. Default 2.
   */
  failuresBeforeDown?: number;
  log: Logger;
  /** The store stopped answering: stop accepting clients. */
  onDown: (err: unknown) => void;
  /** The store answers again: accept clients again. */
  onUp: () => void;
}

/**
 * Watches the store. A node that cannot reach it must not accept changes it cannot store: it
 * goes down (health 503, sockets closed so clients reconnect, perhaps elsewhere) and comes back
 * by itself when the store answers again.
 */
export class StoreHealth {
  readonly #o: StoreHealthOptions;
  #up = true;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<boolean> | undefined;
  #failures = 0;

  constructor(options: StoreHealthOptions) {
    this.#o = options;
  }

  get up(): boolean {
    return this.#up;
  }

  start(): void {
    this.#timer = setInterval(() => void this.check(), this.#o.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Tells of a failed store operation elsewhere: checks at once rather than at the next tick. */
  suspect(): void {
    void this.check();
  }

  /**
   * Pings the store once (sharing a ping in flight) and answers whether it answered; going down
   * takes `failuresBeforeDown` failed pings in a row, coming back one success.
   */
  check(): Promise<boolean> {
    this.#checking ??= this.#ping().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #ping(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#o.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the store did not answer within ${this.#o.timeoutMs} ms`)),
            this.#o.timeoutMs,
          );
        }),
      ]);
      this.#failures = 0;
      if (!this.#up) {
        this.#up = true;
        this.#o.log.info("store reachable again: accepting clients");
        this.#o.onUp();
      }
      return true;
    } catch (err) {
      this.#failures++;
      if (this.#up && this.#failures >= (this.#o.failuresBeforeDown ?? 2)) {
        this.#up = false;
        this.#o.log.error(
          { err },
          "store unreachable: refusing clients (healthz 503) until it answers again",
        );
        this.#o.onDown(err);
      }
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
