import { ValueStore } from "./value-store.js";

/** What a resource's loader hands back: the first value, and how to follow later ones. */
export interface Loaded<V, X> {
  value: V;
  /** Starts following the source; returns how to stop. */
  watch(update: (value: V) => void): () => void;
  /** Anything else the hook needs beside the value (a document's handle). */
  extra: X;
}

/**
 * Something that must be opened before it can be read (a document, the ledger): the Suspense
 * side of oms-sync/react. The first `read()` starts the load and throws its promise (React shows
 * the nearest `<Suspense>` fallback); a failed load throws its error to the nearest error
 * boundary; a loaded one returns a `ValueStore` that follows every later change.
 *
 * The promise is kept here, outside any component, because React drops the state of a component
 * that suspends before it first mounts: a promise made in the component would be a new one on
 * every attempt and the render would never end.
 */
export class Resource<V, X = undefined> {
  #status: "pending" | "ready" | "error" = "pending";
  #error: unknown;
  #extra: X | undefined;
  readonly #promise: Promise<void>;
  readonly #store: ValueStore<V | undefined>;
  #unwatch: (() => void) | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #keepUnusedMs: number;
  readonly #evict: () => void;
  #disposed = false;
  /**
   * When a render last read it: a component renders before it subscribes (React subscribes
   * after the commit, and may hold a revealed Suspense boundary back for a while), so "nobody
   * listens" alone does not mean "nobody uses it".
   */
  #lastRead = 0;
  #watch: Loaded<V, X>["watch"] | undefined;

  constructor(load: () => Promise<Loaded<V, X>>, keepUnusedMs: number, evict: () => void) {
    this.#keepUnusedMs = keepUnusedMs;
    this.#evict = evict;
    this.#store = new ValueStore<V | undefined>(undefined, {
      onFirst: () => {
        clearTimeout(this.#idleTimer);
        // Forgotten between a render and its commit (a long one): whoever subscribes still
        // gets every change.
        if (this.#status === "ready" && !this.#unwatch) this.#follow();
      },
      onLast: () => this.#idleSoon(),
    });
    this.#promise = Promise.resolve()
      .then(load)
      .then(
        (loaded) => {
          if (this.#disposed) return;
          this.#extra = loaded.extra;
          this.#watch = loaded.watch;
          this.#store.set(loaded.value);
          this.#follow();
          this.#status = "ready";
          this.#idleSoon();
        },
        (error: unknown) => {
          this.#error = error;
          this.#status = "error";
          this.#idleSoon();
        },
      );
  }

  get failed(): boolean {
    return this.#status === "error";
  }

  /** The store of the loaded value and its extra; throws the pending promise or the error. */
  read(): { store: ValueStore<V>; extra: X } {
    this.#lastRead = Date.now();
    if (this.#status === "pending") throw this.#promise;
    if (this.#status === "error") throw this.#error;
    return { store: this.#store as ValueStore<V>, extra: this.#extra as X };
  }

  #follow(): void {
    this.#unwatch = this.#watch?.((value) => this.#store.set(value));
  }

  /** A promise that settles when the load does (never rejects). */
  get settled(): Promise<void> {
    return this.#promise;
  }

  /** Stops following the source; the cache forgets this resource. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#idleTimer);
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#evict();
  }

  /**
   * Nobody reads it now: forget it after a while, so a row scrolled away and back does not
   * suspend again, but a session that opens thousands of documents does not keep them all.
   */
  #idleSoon(): void {
    if (this.#store.listening || this.#status === "pending") return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (this.#store.listening) return;
      // Read by a render that has not committed yet: wait for it.
      if (Date.now() - this.#lastRead < this.#keepUnusedMs) this.#idleSoon();
      else this.dispose();
    }, this.#keepUnusedMs);
  }
}

/** Resources by key, made on first read. */
export class ResourceCache {
  readonly #entries = new Map<string, Resource<unknown, unknown>>();
  readonly #keepUnusedMs: number;

  constructor(keepUnusedMs: number) {
    this.#keepUnusedMs = keepUnusedMs;
  }

  get<V, X>(key: string, load: () => Promise<Loaded<V, X>>): Resource<V, X> {
    let entry = this.#entries.get(key) as Resource<V, X> | undefined;
    if (!entry) {
      const made: Resource<V, X> = new Resource<V, X>(load, this.#keepUnusedMs, () => {
        if (this.#entries.get(key) === made) this.#entries.delete(key);
      });
      entry = made;
      this.#entries.set(key, entry as Resource<unknown, unknown>);
    }
    return entry;
  }

  /** Forgets every failed load, so the next read tries again (after a reconnect, a retry). */
  forgetFailed(): void {
    for (const entry of [...this.#entries.values()]) if (entry.failed) entry.dispose();
  }

  /** Stops following everything (the provider's client closed). */
  clear(): void {
    for (const entry of [...this.#entries.values()]) entry.dispose();
  }
}
