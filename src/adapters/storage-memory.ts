import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";

/** One key part of the tree: the chunk stored at exactly this key, and the longer keys below. */
interface Node {
  data?: Uint8Array;
  /** When the key was first saved: ranges come back in that order, as a plain map gives them. */
  seq?: number;
  children?: Map<string, Node>;
}

/**
 * Keeps everything in memory: for tests and for users who keep nothing on the device. Keys form
 * a tree by their parts, so `loadRange` and `removeRange` cost what the range holds, not what the
 * store holds (opening one document among 10,000 reads two small subtrees).
 */
export class MemoryStorageAdapter implements StorageAdapterInterface {
  #root: Node = {};
  #saved = 0;

  #find(key: StorageKey): Node | undefined {
    let node: Node | undefined = this.#root;
    for (const part of key) {
      node = node.children?.get(part);
      if (!node) return undefined;
    }
    return node;
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#find(key)?.data;
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    let node = this.#root;
    for (const part of key) {
      node.children ??= new Map();
      let child = node.children.get(part);
      if (!child) {
        child = {};
        node.children.set(part, child);
      }
      node = child;
    }
    if (node.data === undefined) node.seq = this.#saved++;
    node.data = data;
  }

  async remove(key: StorageKey): Promise<void> {
    // The path is kept to prune the parts left empty, so removed keys leave nothing behind.
    const path: Node[] = [this.#root];
    for (const part of key) {
      const next = path.at(-1)?.children?.get(part);
      if (!next) return;
      path.push(next);
    }
    delete (path.at(-1) as Node).data;
    this.#prune(path, key);
  }

  #prune(path: Node[], key: StorageKey): void {
    for (let i = key.length; i > 0; i--) {
      const node = path[i] as Node;
      if (node.data !== undefined || (node.children?.size ?? 0) > 0) return;
      path[i - 1]?.children?.delete(key[i - 1] as string);
    }
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    return this.#collect(keyPrefix);
  }

  #collect(keyPrefix: StorageKey): Chunk[] {
    const found: { seq: number; chunk: Chunk }[] = [];
    const walk = (node: Node, key: string[]) => {
      if (node.data !== undefined)
        found.push({ seq: node.seq ?? 0, chunk: { key, data: node.data } });
      for (const [part, child] of node.children ?? []) walk(child, [...key, part]);
    };
    const start = this.#find(keyPrefix);
    if (start) walk(start, [...keyPrefix]);
    return found.sort((a, b) => a.seq - b.seq).map((f) => f.chunk);
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    if (keyPrefix.length === 0) {
      this.#root = {};
      return;
    }
    const path: Node[] = [this.#root];
    for (const part of keyPrefix.slice(0, -1)) {
      const next = path.at(-1)?.children?.get(part);
      if (!next) return;
      path.push(next);
    }
    path.at(-1)?.children?.delete(keyPrefix.at(-1) as string);
    this.#prune(path, keyPrefix.slice(0, -1));
  }

  /** Every stored key, for inspection in tests. */
  keys(): StorageKey[] {
    return this.#collect([]).map((chunk) => chunk.key);
  }
}
