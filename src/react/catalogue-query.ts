import { type CatalogueSearch, type OmsClient, OmsError } from "../client/index.js";
import { collections } from "./stores.js";
import type { CollectionKind, ListResult, ListRow } from "./types.js";
import { keepUnchanged, ValueStore } from "./value-store.js";

function asOmsError(error: unknown): OmsError {
  return error instanceof OmsError
    ? error
    : new OmsError("INTERNAL", `the catalogue search failed: ${String(error)}`, { cause: error });
}

/**
 * One catalogue search of one component (`useQuotes({ scope: "all", … })`): the first page when
 * a component starts reading it, the next ones on `loadMore`, and the search again by itself when
 * a device that was offline connects. Nothing is fetched during render: the search starts when
 * React subscribes.
 */
export class CatalogueQuery {
  readonly #client: OmsClient;
  readonly #kind: CollectionKind;
  readonly #search: CatalogueSearch;
  readonly #store: ValueStore<ListResult>;
  #next: string | null = null;
  /** Answers to an older request (a refresh came meanwhile) are dropped. */
  #generation = 0;
  /** A first page arrived: a component that reads this search again later needs no new one. */
  #loaded = false;
  #offSync: (() => void) | undefined;

  constructor(
    client: OmsClient,
    kind: CollectionKind,
    search: CatalogueSearch,
    previousRows: readonly ListRow[] = [],
  ) {
    this.#client = client;
    this.#kind = kind;
    this.#search = { ...search, scope: "all" };
    // The rows of the search this one replaces stay on screen (marked loading) until the new
    // ones arrive: typing into a search box does not flash an empty list.
    this.#store = new ValueStore<ListResult>(
      {
        rows: previousRows,
        loading: true,
        error: null,
        hasMore: false,
        loadingMore: false,
        loadMore: () => this.#loadMore(),
        refresh: () => this.#refresh(),
      },
      { onFirst: () => this.#start(), onLast: () => this.#stop() },
    );
  }

  readonly subscribe = (listener: () => void) => this.#store.subscribe(listener);
  readonly get = () => this.#store.get();

  #patch(patch: Partial<ListResult>): void {
    this.#store.set({ ...this.#store.get(), ...patch });
  }

  #start(): void {
    let state = this.#client.sync.status.state;
    this.#offSync = this.#client.sync.subscribe((status) => {
      const was = state;
      state = status.state;
      const connected = state === "syncing" || state === "complete";
      const wasConnected = was === "syncing" || was === "complete";
      if (connected && !wasConnected && this.get().error?.code === "OFFLINE") this.#refresh();
    });
    if (!this.#loaded || this.get().error) this.#refresh();
  }

  #stop(): void {
    this.#offSync?.();
    this.#offSync = undefined;
    this.#generation++;
    if (this.get().loading || this.get().loadingMore)
      this.#patch({ loading: false, loadingMore: false });
  }

  #page(cursor: string | null) {
    const collection = this.#client[collections[this.#kind]];
    return collection.search(cursor ? { ...this.#search, cursor } : this.#search);
  }

  #refresh(): void {
    const generation = ++this.#generation;
    this.#patch({ loading: true, loadingMore: false });
    this.#page(null).then(
      (page) => {
        if (generation !== this.#generation) return;
        this.#next = page.next;
        this.#loaded = true;
        this.#patch({
          rows: keepUnchanged(this.get().rows, page.rows),
          loading: false,
          error: null,
          hasMore: page.next !== null,
        });
      },
      (error: unknown) => {
        if (generation !== this.#generation) return;
        this.#patch({ loading: false, error: asOmsError(error) });
      },
    );
  }

  #loadMore(): void {
    const state = this.get();
    if (!this.#next || state.loading || state.loadingMore) return;
    const generation = this.#generation;
    this.#patch({ loadingMore: true });
    this.#page(this.#next).then(
      (page) => {
        if (generation !== this.#generation) return;
        this.#next = page.next;
        this.#patch({
          rows: [...this.get().rows, ...page.rows],
          loadingMore: false,
          error: null,
          hasMore: page.next !== null,
        });
      },
      (error: unknown) => {
        if (generation !== this.#generation) return;
        this.#patch({ loadingMore: false, error: asOmsError(error) });
      },
    );
  }
}
