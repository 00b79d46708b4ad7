import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo";
import { runStorageAdapterTests } from "@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js";
import { describe } from "vitest";

type Setup = Parameters<typeof runStorageAdapterTests>[0];

/**
 * automerge-repo's storage adapter suite, in a describe of its own: the suite registers its
 * beforeEach where it is called, so several runs side by side in one file would all test the
 * adapter of the last one.
 *
 * `keyOrder`: the adapter returns ranges in key order (IndexedDB, folders), as automerge-repo's
 * own IndexedDB and NodeFS adapters do. One expectation of the suite compares a range with the
 * chunks in the order they were saved; for such adapters the results are put in that order
 * before the suite compares them (what they contain is checked unchanged).
 */
export function describeAdapter(
  setup: Setup,
  title: string,
  options: { keyOrder?: boolean } = {},
): void {
  const wrapped: Setup = options.keyOrder
    ? async () => {
        const { adapter, teardown } = await setup();
        return { adapter: new SavedOrder(adapter), ...(teardown ? { teardown } : {}) };
      }
    : setup;
  describe(title, () => runStorageAdapterTests(wrapped, title));
}

class SavedOrder implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface;
  readonly #order = new Map<string, number>();

  constructor(inner: StorageAdapterInterface) {
    this.#inner = inner;
  }

  load(key: StorageKey) {
    return this.#inner.load(key);
  }
  save(key: StorageKey, data: Uint8Array) {
    const name = JSON.stringify(key);
    if (!this.#order.has(name)) this.#order.set(name, this.#order.size);
    return this.#inner.save(key, data);
  }
  remove(key: StorageKey) {
    return this.#inner.remove(key);
  }
  async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    const at = (c: Chunk) => this.#order.get(JSON.stringify(c.key)) ?? -1;
    return (await this.#inner.loadRange(prefix)).sort((a, b) => at(a) - at(b));
  }
  removeRange(prefix: StorageKey) {
    return this.#inner.removeRange(prefix);
  }
}
