/**
 * Remembers about the `limit` most recent entries: two generations of at most `limit / 2` each; when
 * the young one is full the old one is dropped whole. Nothing is ever deleted one by one, so the hot
 * path neither walks an iterator nor leaves holes for Map compaction. Used by `EmulatorServer` for the
 * workflow runs and chat conversations it remembers.
 */
export class RecentMap<K, V> {
  #young = new Map<K, V>();
  #old = new Map<K, V>();
  #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  set limit(limit: number) {
    this.#limit = limit;
    if (limit <= 0) this.clear();
  }

  get(key: K): V | undefined {
    return this.#young.get(key) ?? this.#old.get(key);
  }

  set(key: K, value: V): void {
    if (this.#limit <= 0) return;
    if (this.#young.size >= Math.ceil(this.#limit / 2) && !this.#young.has(key)) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }

  clear(): void {
    this.#young = new Map();
    this.#old = new Map();
  }

  /** Oldest first. */
  *values(): IterableIterator<V> {
    for (const [key, value] of this.#old) if (!this.#young.has(key)) yield value;
    yield* this.#young.values();
  }
}
