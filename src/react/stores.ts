import type { Ledger, OmsClient, OmsDocumentHandle } from "../client/index.js";
import { type Resource, ResourceCache } from "./resource.js";
import type { CollectionKind, KindDocuments } from "./types.js";

/** The limits of oms-sync/react, in one place: the defaults of `<OmsProvider options>`. */
export const reactDefaults: ReactOptions = {
  keepUnusedMs: 30_000,
};

/** Options of oms-sync/react (`<OmsProvider client={…} options={…}>`). */
export interface ReactOptions {
  /**
   * How long an opened document nobody renders any more stays open (and followed) before it is
   * forgotten: scrolling a row away and back, or switching tabs, does not suspend again.
   * Default 30,000 ms. A failed open is forgotten after the same time.
   */
  readonly keepUnusedMs: number;
}

/** The client's collection of each kind: `client.quotes` for "quote". */
export const collections = { quote: "quotes", order: "orders", assistance: "assistance" } as const;

/** The collection of a kind: `client.quotes` for "quote". */
export function collectionOf<K extends CollectionKind>(client: OmsClient, kind: K) {
  return client[collections[kind]] as unknown as {
    open(id: string): Promise<OmsDocumentHandle<KindDocuments[K]>>;
  };
}

/** A document id from an id or an `automerge:` URL, so both name the same cache entry. */
export function bareId(idOrUrl: string): string {
  return idOrUrl.startsWith("automerge:")
    ? (idOrUrl.slice("automerge:".length).split("#")[0] as string)
    : idOrUrl;
}

/**
 * Everything oms-sync/react keeps for one client, shared by every provider and hook of that
 * client: opened documents, and the stores of lists, gate, quarantine and inbox. Made once per
 * client (a WeakMap), so two providers of one client never open a document twice.
 */
export class OmsStores {
  readonly client: OmsClient;
  readonly resources: ResourceCache;
  readonly #lazy = new Map<string, unknown>();

  constructor(client: OmsClient, options: Partial<ReactOptions> = {}) {
    this.client = client;
    this.resources = new ResourceCache(options.keepUnusedMs ?? reactDefaults.keepUnusedMs);
    // A failed open (OFFLINE, NOT_FOUND) may succeed once the device connects or syncs: the next
    // render after a change of sync state tries again instead of throwing the old error.
    let state = client.sync.status.state;
    client.sync.subscribe((status) => {
      if (status.state === state) return;
      state = status.state;
      this.resources.forgetFailed();
    });
  }

  /** A store made on first use and kept for the life of the client. */
  lazy<T>(key: string, make: () => T): T {
    let made = this.#lazy.get(key) as T | undefined;
    if (made === undefined) {
      made = make();
      this.#lazy.set(key, made);
    }
    return made;
  }

  /** The document `id` of `kind`, opened through the client (Suspense resource). */
  document<K extends CollectionKind>(
    kind: K,
    id: string,
  ): Resource<KindDocuments[K], OmsDocumentHandle<KindDocuments[K]>> {
    const bare = bareId(id);
    return this.resources.get(`document:${kind}:${bare}`, async () => {
      const handle = await collectionOf(this.client, kind).open(bare);
      return { value: handle.doc(), extra: handle, watch: (update) => follow(handle, update) };
    });
  }

  /** The user's ledger (read-only receipts), followed as the relay writes it. */
  ledger(): Resource<Ledger, undefined> {
    const client = this.client;
    return this.resources.get("ledger", async () => ({
      value: await client.ledger.get(),
      extra: undefined,
      watch: (update) => {
        let stop: (() => void) | undefined;
        let stopped = false;
        void client.ledger.subscribe(update).then((off) => {
          if (stopped) off();
          else stop = off;
          // A change between the first read and the subscription is not missed.
          return client.ledger.get().then(update);
        });
        return () => {
          stopped = true;
          stop?.();
        };
      },
    }));
  }
}

/** Follows a handle; the first update catches a change made between opening and following. */
function follow<T>(handle: OmsDocumentHandle<T>, update: (doc: T) => void): () => void {
  const off = handle.subscribe(update);
  update(handle.doc());
  return off;
}

const registry = new WeakMap<OmsClient, OmsStores>();

/** The stores of a client, made on first use (with the options of that first use). */
export function storesOf(client: OmsClient, options?: Partial<ReactOptions>): OmsStores {
  let stores = registry.get(client);
  if (!stores) {
    stores = new OmsStores(client, options);
    registry.set(client, stores);
  }
  return stores;
}
