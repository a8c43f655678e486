/**
 * @module kernel/store/drivers/shared/bounded-cache
 * A size-capped map for per-SQL-text caches (prepared statements, placeholder rewrites). Most
 * programs use a fixed set of SQL strings, but one that builds SQL dynamically must not grow memory
 * without bound. Eviction is oldest-inserted first: a hit costs one Map lookup and nothing else,
 * which matters more on the hot path than LRU precision.
 */
export class BoundedCache<V> {
  readonly #map = new Map<string, V>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string): V | undefined {
    return this.#map.get(key);
  }

  set(key: string, value: V): void {
    if (this.#map.size >= this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
    this.#map.set(key, value);
  }

  get size(): number {
    return this.#map.size;
  }
}
