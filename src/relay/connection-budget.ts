/** Per-connection limits, checked on every inbound message. */
export interface ConnectionLimits {
  /** Sustained inbound messages per second; faster peers are slowed (reads paused), not cut. */
  maxMessagesPerSecond: number;
  /** Messages a peer may send at once before it is slowed. */
  messageBurst: number;
  /** Messages received but not handled yet; beyond this the connection is closed (4029). */
  maxQueuedMessages: number;
  /** Distinct documents one connection may ask about; more are refused, the connection stays. */
  maxDocumentsPerConnection: number;
}

/**
 * One connection's budget: a token bucket for the message rate, a count of messages waiting,
 * and the set of documents it has asked about.
 */
export class ConnectionBudget {
  readonly #limits: ConnectionLimits;
  readonly #now: () => number;
  #tokens: number;
  #last: number;
  #queued = 0;
  readonly #documents = new Set<string>();

  constructor(limits: ConnectionLimits, now: () => number = () => performance.now()) {
    this.#limits = limits;
    this.#now = now;
    this.#tokens = limits.messageBurst;
    this.#last = now();
  }

  /**
   * Takes one message from the bucket. Returns 0 when the peer is within its rate, else how many
   * milliseconds to stop reading so that the bucket refills.
   */
  take(): number {
    const now = this.#now();
    const rate = this.#limits.maxMessagesPerSecond;
    this.#tokens = Math.min(
      this.#limits.messageBurst,
      this.#tokens + ((now - this.#last) * rate) / 1000,
    );
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / rate);
  }

  /** Counts a message in; false when the queue is over its limit. */
  enqueue(): boolean {
    this.#queued++;
    return this.#queued <= this.#limits.maxQueuedMessages;
  }

  dequeue(): void {
    this.#queued--;
  }

  /** Notes a document asked about; false when it would exceed the connection's limit. */
  admitDocument(documentId: string): boolean {
    if (this.#documents.has(documentId)) return true;
    if (this.#documents.size >= this.#limits.maxDocumentsPerConnection) return false;
    this.#documents.add(documentId);
    return true;
  }
}
