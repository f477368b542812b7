// The fleet as a ranked table that stays smooth with thousands of hosts: rows have a fixed height,
// only those in view (plus a few either side) exist in the DOM, and they are recycled as the table
// scrolls. Sparklines are drawn on each visible row's small canvases, never one chart per host.

import { defaultDescending, rankHosts } from './fleet-rank.js'
import { formatAgo, formatBytesPerSecond, formatPercent } from './format.js'
import { drawSparkline } from './sparkline.js'

export const ROW_HEIGHT = 44
/** Rows kept beyond each edge of the view, so a quick flick does not show blank space. */
const OVERSCAN = 8
const SPARK_HEIGHT = 26
// A host silent for this long is flagged: the agent samples every second or faster.
const STALE_HOST_MS = 30_000

export const FLEET_COLUMNS = [
  {
    key: 'cpu',
    title: 'CPU busy',
    value: (h) => h.cpu_busy,
    format: formatPercent,
    max: 100,
    color: '#4e79a7',
  },
  {
    key: 'mem',
    title: 'Memory used',
    value: (h) => h.mem_used,
    format: formatPercent,
    max: 100,
    color: '#e15759',
  },
  {
    key: 'disk',
    title: 'Disk IO',
    value: (h) => h.disk_bytes_per_s,
    format: formatBytesPerSecond,
    color: '#f28e2b',
  },
  {
    key: 'net',
    title: 'Network',
    value: (h) => h.net_bytes_per_s,
    format: formatBytesPerSecond,
    color: '#59a14f',
  },
]

const HEADERS = [
  { key: null, title: '#' },
  { key: 'host', title: 'Host' },
  { key: 'seen', title: 'Last seen' },
  ...FLEET_COLUMNS.map((c) => ({ key: c.key, title: c.title })),
]

/**
 * @param {HTMLElement} root element the table fills
 * @param {{ hrefFor: (hostId: string) => string, onOpen: (hostId: string) => void }} options
 */
export function createFleetTable(root, { hrefFor, onOpen }) {
  root.classList.add('fleet-table')
  root.setAttribute('role', 'table')
  root.setAttribute('aria-label', 'Hosts')

  const head = document.createElement('div')
  head.className = 'fleet-row fleet-head'
  head.setAttribute('role', 'row')
  head.setAttribute('aria-rowindex', '1')
  const headCells = HEADERS.map((h) => {
    const cell = document.createElement('div')
    cell.setAttribute('role', 'columnheader')
    cell.className = h.key && FLEET_COLUMNS.some((c) => c.key === h.key) ? 'fleet-metric' : ''
    if (h.key) {
      const button = document.createElement('button')
      button.type = 'button'
      button.dataset.sort = h.key
      button.textContent = h.title
      cell.append(button)
    } else {
      cell.textContent = h.title
    }
    head.append(cell)
    return { key: h.key, cell }
  })

  const body = document.createElement('div')
  body.className = 'fleet-body'
  body.setAttribute('role', 'rowgroup')
  const spacer = document.createElement('div')
  spacer.className = 'fleet-spacer'
  body.append(spacer)
  const empty = document.createElement('p')
  empty.className = 'fleet-empty'
  root.append(head, body, empty)

  let hosts = []
  let rows = []
  let order = { key: 'cpu', descending: true }
  let filter = ''
  let emptyMessage = 'loading…'
  // Bumped whenever what a row shows may have changed; a row redraws only when its version is stale.
  let version = 0
  let now = Date.now()
  let sparkWidth = 0
  let frame = 0
  /** Row index → element, for the rows in the DOM. */
  const shown = new Map()
  const spare = []
  const parts = new WeakMap()

  function schedule() {
    if (!frame) {
      frame = requestAnimationFrame(() => {
        frame = 0
        render()
      })
    }
  }

  body.addEventListener('scroll', schedule, { passive: true })
  const resizer = new ResizeObserver(() => {
    sparkWidth = 0
    version++
    schedule()
  })
  resizer.observe(body)

  head.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-sort]')
    if (!button) return
    const key = button.dataset.sort
    order =
      key === order.key ? { key, descending: !order.descending } : { key, descending: defaultDescending(key) }
    rerank()
    body.scrollTop = 0
    render()
  })

  body.addEventListener('click', (event) => {
    // The host name is a real link (open in a new tab, copy); a click anywhere else on the row opens too.
    if (event.target.closest('a')) return
    const row = event.target.closest('.fleet-row')
    if (row?.dataset.host) onOpen(row.dataset.host)
  })

  function rerank() {
    rows = rankHosts(hosts, { ...order, filter })
    version++
    for (const { key, cell } of headCells) {
      if (!key) continue
      const sort = key !== order.key ? 'none' : order.descending ? 'descending' : 'ascending'
      cell.setAttribute('aria-sort', sort)
    }
  }

  function createRow() {
    const el = document.createElement('div')
    el.className = 'fleet-row'
    el.setAttribute('role', 'row')
    const rank = cell('fleet-rank')
    const hostCell = cell('fleet-host')
    const link = document.createElement('a')
    link.className = 'fleet-name'
    const id = document.createElement('span')
    id.className = 'fleet-id muted'
    hostCell.append(link, id)
    const seen = cell('fleet-seen')
    const metrics = FLEET_COLUMNS.map(() => {
      const c = cell('fleet-metric')
      const value = document.createElement('span')
      value.className = 'fleet-value'
      const canvas = document.createElement('canvas')
      canvas.className = 'spark'
      canvas.height = SPARK_HEIGHT
      canvas.setAttribute('aria-hidden', 'true')
      c.append(value, canvas)
      return { value, canvas }
    })
    el.append(rank, hostCell, seen, ...metrics.map((m) => m.value.parentElement))
    parts.set(el, { rank, link, id, seen, metrics })
    spacer.append(el)
    return el
  }

  function fill(el, index) {
    const host = rows[index]
    const signature = `${version}\u0000${index}`
    if (el.dataset.signature === signature) return
    el.dataset.signature = signature
    el.dataset.host = host.host_id
    el.style.transform = `translateY(${index * ROW_HEIGHT}px)`
    el.setAttribute('aria-rowindex', String(index + 2))
    const p = parts.get(el)
    p.rank.textContent = String(index + 1)
    p.link.textContent = host.hostname || host.host_id
    p.link.href = hrefFor(host.host_id)
    p.link.title = host.host_id
    p.id.textContent = host.hostname && host.hostname !== host.host_id ? host.host_id : ''
    const stale = host.last_seen_ms == null || now - host.last_seen_ms > STALE_HOST_MS
    showSeen(el, host)
    el.classList.toggle('stale', stale)
    if (!sparkWidth) sparkWidth = Math.floor(p.metrics[0].canvas.getBoundingClientRect().width)
    FLEET_COLUMNS.forEach((column, i) => {
      const m = p.metrics[i]
      m.value.textContent = column.format(column.value(host))
      drawSparkline(m.canvas, host.spark[column.key] ?? [], {
        color: column.color,
        width: sparkWidth || 100,
        height: SPARK_HEIGHT,
        max: column.max,
      })
    })
  }

  function showSeen(el, host) {
    const p = parts.get(el)
    p.seen.textContent = host.last_seen_ms == null ? '–' : formatAgo(host.last_seen_ms, now)
    // The newest sample time, exact, for the live tests.
    if (host.last_seen_ms == null) delete el.dataset.lastSeenMs
    else el.dataset.lastSeenMs = String(host.last_seen_ms)
  }

  function render() {
    const total = rows.length
    spacer.style.height = `${total * ROW_HEIGHT}px`
    root.setAttribute('aria-rowcount', String(total + 1))
    empty.hidden = total > 0
    empty.textContent = hosts.length === 0 ? emptyMessage : `No host matches “${filter.trim()}”.`
    const viewHeight = body.clientHeight || ROW_HEIGHT * 20
    const first = Math.max(0, Math.floor(body.scrollTop / ROW_HEIGHT) - OVERSCAN)
    const last = Math.min(total - 1, Math.ceil((body.scrollTop + viewHeight) / ROW_HEIGHT) + OVERSCAN)
    for (const [index, el] of shown) {
      if (index >= first && index <= last) continue
      shown.delete(index)
      el.hidden = true
      el.dataset.signature = ''
      spare.push(el)
    }
    for (let i = first; i <= last; i++) {
      let el = shown.get(i)
      if (!el) {
        el = spare.pop() ?? createRow()
        el.hidden = false
        shown.set(i, el)
      }
      fill(el, i)
    }
  }

  rerank()
  render()

  return {
    /** @param {{ hosts: object[] }} response /api/fleet, as api.js normalises it */
    update(response) {
      hosts = response.hosts
      emptyMessage = 'No host has reported yet — waiting for the first samples…'
      now = Date.now()
      rerank()
      render()
    },

    /** Ages move on every second without a redraw of the rows: only the "last seen" cells change. */
    tick(nowMs = Date.now()) {
      now = nowMs
      for (const [index, el] of shown) {
        const host = rows[index]
        if (!host) continue
        showSeen(el, host)
        el.classList.toggle('stale', host.last_seen_ms == null || now - host.last_seen_ms > STALE_HOST_MS)
      }
    },

    setFilter(text) {
      filter = text
      rerank()
      body.scrollTop = 0
      render()
    },

    /** Drops every row and shows `message` until the next update. */
    reset(message) {
      hosts = []
      emptyMessage = message
      rerank()
      render()
    },

    /** Hosts after filtering, and how many the tenant has. */
    counts() {
      return { shown: rows.length, total: hosts.length }
    },

    destroy() {
      resizer.disconnect()
      if (frame) window.cancelAnimationFrame(frame)
    },
  }
}

function cell(className) {
  const el = document.createElement('div')
  el.className = className
  el.setAttribute('role', 'cell')
  return el
}
