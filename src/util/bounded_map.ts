// Insertion-ordered maps used as small LRUs: inserting a key makes it the newest, and the oldest
// goes once the bound is reached. For state learned from traffic that must never grow without
// limit (endpoints, DNS queries, per-workload facts).

/** Sets `k` as the newest entry of `m`, evicting the oldest when `m` already holds `max`. */
export function putBounded<K, V>(m: Map<K, V>, k: K, v: V, max: number): void {
  if (!m.delete(k) && m.size >= max) m.delete(m.keys().next().value as K);
  m.set(k, v);
}
