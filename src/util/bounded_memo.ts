// A memo for lookups with few distinct keys on a node (hosts, cgroup paths, request paths),
// bounded by forgetting everything when full: a burst of new keys costs one recomputation each
// and no bookkeeping per hit.
export class BoundedMemo<K, V> {
  private readonly known = new Map<K, V>();
  constructor(
    private readonly max: number,
    private readonly compute: (key: K) => V,
  ) {}

  get(key: K): V {
    let v = this.known.get(key);
    if (v === undefined) {
      if (this.known.size >= this.max) this.known.clear();
      v = this.compute(key);
      this.known.set(key, v);
    }
    return v;
  }
}
