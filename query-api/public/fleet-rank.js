// Ordering and filtering the fleet's hosts. Pure functions, no DOM.

/** What each sortable column ranks by. */
export const SORT_VALUES = {
  host: (h) => (h.hostname || h.host_id).toLowerCase(),
  seen: (h) => h.last_seen_ms ?? null,
  cpu: (h) => h.cpu_busy,
  mem: (h) => h.mem_used,
  disk: (h) => h.disk_bytes_per_s,
  net: (h) => h.net_bytes_per_s,
}

/** Names sort A→Z first; every number sorts highest (busiest, most recent) first. */
export function defaultDescending(key) {
  return key !== 'host'
}

/**
 * Hosts matching `filter` (a substring of the name or id, any case), ordered by `key`. Hosts without a
 * value stay at the bottom in either direction: a host that sent nothing is never "the least busy".
 *
 * @param {object[]} hosts /api/fleet hosts
 * @param {{ key: keyof typeof SORT_VALUES, descending: boolean, filter?: string }} order
 */
export function rankHosts(hosts, { key, descending, filter = '' }) {
  const needle = filter.trim().toLowerCase()
  const kept = needle
    ? hosts.filter(
        (h) => h.host_id.toLowerCase().includes(needle) || (h.hostname ?? '').toLowerCase().includes(needle),
      )
    : [...hosts]
  const value = SORT_VALUES[key] ?? SORT_VALUES.cpu
  const name = SORT_VALUES.host
  const sign = descending ? -1 : 1
  return kept.sort((a, b) => {
    const va = value(a)
    const vb = value(b)
    if (va == null || vb == null) {
      if (va != null) return -1
      if (vb != null) return 1
    } else if (va !== vb) {
      return (va < vb ? -1 : 1) * sign
    }
    const na = name(a)
    const nb = name(b)
    return na < nb ? -1 : na > nb ? 1 : 0
  })
}
