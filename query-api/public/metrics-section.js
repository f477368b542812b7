// "Everything this host sends": every metric family the host has in the range (Prometheus API), grouped
// by collector prefix in collapsed groups, each name openable to a chart of its own. A group's names
// become elements when it is first opened, and a chart is loaded only while its name is open.

import { createChart } from './charts.js'
import { familyFrame, groupFamilies, isCounter, unitFor } from './families.js'
import { createSeriesBuffer } from './live-series.js'

const CHART_HEIGHT = 180
/** While live, the list and the types are re-read this often; a host or range change re-reads at once. */
export const FAMILIES_REFRESH_MS = 30_000

/** A PromQL selector for every series of one host: `{host="…"}`, the id quoted as a string literal. */
export function hostSelector(host) {
  // JSON's escapes (\" \\ \n \uXXXX) are PromQL's (Go's) too.
  return `{host=${JSON.stringify(host)}}`
}

/**
 * @param {HTMLElement} root the section, full width below the panels
 * @param {{ api: ReturnType<import('./api.js').createApi> }} options
 */
export function createMetricsSection(root, { api }) {
  const header = document.createElement('header')
  const title = document.createElement('h2')
  title.textContent = 'Everything this host sends'
  const summary = document.createElement('span')
  summary.className = 'muted metrics-summary'
  const filter = document.createElement('input')
  filter.type = 'search'
  filter.className = 'metrics-filter'
  filter.placeholder = 'Filter metrics'
  filter.spellcheck = false
  filter.setAttribute('aria-label', 'Filter this host’s metrics by name')
  header.append(title, summary, filter)
  const error = document.createElement('p')
  error.className = 'panel-error'
  error.hidden = true
  const empty = document.createElement('p')
  empty.className = 'metrics-empty muted'
  empty.textContent = 'loading…'
  const groupsBox = document.createElement('div')
  groupsBox.className = 'metric-groups'
  root.append(header, error, empty, groupsBox)

  const state = {
    /** The host the list shows. */
    host: null,
    loadedAt: 0,
    /** name → { type, help } from /api/v1/metadata. */
    types: new Map(),
    /** group key → group (see makeGroup), in display order. */
    groups: new Map(),
    order: '',
    filter: '',
    /** Bumped by reset: answers started before it are dropped. */
    generation: 0,
    /** The newest refresh's host and range, for charts opened between refreshes (or while paused). */
    lastQuery: null,
    /** What the newest load read: the list (when due) and the open charts. */
    loadCount: 0,
  }

  // ---- groups and names ------------------------------------------------------------------------

  function makeGroup(key) {
    const el = document.createElement('details')
    el.className = 'metric-group'
    el.dataset.group = key
    const head = document.createElement('summary')
    const name = document.createElement('span')
    name.className = 'group-name'
    const count = document.createElement('span')
    count.className = 'muted group-count'
    head.append(name, count)
    el.append(head)
    const group = { key, label: '', names: [], el, name, count, list: null, items: new Map() }
    el.addEventListener('toggle', () => {
      if (!el.open) return
      syncItems(group)
      applyFilter()
      for (const item of group.items.values()) if (item.chart) loadItemNow(item)
    })
    return group
  }

  function makeItem(group, metric) {
    const li = document.createElement('li')
    const el = document.createElement('details')
    el.className = 'metric'
    el.dataset.metric = metric
    const head = document.createElement('summary')
    const name = document.createElement('code')
    name.className = 'metric-name'
    name.textContent = metric
    const kind = document.createElement('span')
    kind.className = 'metric-kind'
    head.append(name, kind)
    el.append(head)
    li.append(el)
    const item = {
      metric,
      group,
      li,
      el,
      kind,
      fn: 'raw',
      /** Set once the user picks rate or raw: the type no longer decides. */
      chosen: false,
      chart: null,
      body: null,
      note: null,
      error: null,
      help: null,
      rate: null,
      loaded: false,
      controller: null,
    }
    describeItem(item)
    el.addEventListener('toggle', () => {
      if (el.open) openItem(item)
      else closeItem(item)
    })
    return item
  }

  /** Kind badge and default function from the metric's TYPE (or its `_total` suffix). */
  function describeItem(item) {
    const type = state.types.get(item.metric)?.type
    const counter = isCounter(item.metric, type)
    item.kind.textContent = counter ? 'counter' : type && type !== 'unknown' ? type : 'untyped'
    if (!item.chosen && !item.chart) item.fn = counter ? 'rate' : 'raw'
    if (item.help) item.help.textContent = state.types.get(item.metric)?.help ?? ''
  }

  /** Brings an opened group's name elements in line with its names; a closed one has none yet. */
  function syncItems(group) {
    if (!group.el.open && !group.list) return
    if (!group.list) {
      group.list = document.createElement('ul')
      group.list.className = 'metric-list'
      group.el.append(group.list)
    }
    const wanted = new Set(group.names)
    for (const [metric, item] of group.items) {
      if (wanted.has(metric)) continue
      closeItem(item)
      item.li.remove()
      group.items.delete(metric)
    }
    let changed = false
    for (const metric of group.names) {
      let item = group.items.get(metric)
      if (!item) {
        item = makeItem(group, metric)
        group.items.set(metric, item)
        changed = true
      } else {
        describeItem(item)
      }
    }
    if (changed) group.list.append(...group.names.map((m) => group.items.get(m).li))
  }

  function render(names) {
    const grouped = groupFamilies(names)
    const keep = new Set(grouped.map((g) => g.key))
    for (const [key, group] of state.groups) {
      if (keep.has(key)) continue
      for (const item of group.items.values()) closeItem(item)
      group.el.remove()
      state.groups.delete(key)
    }
    for (const { key, label, names: list } of grouped) {
      let group = state.groups.get(key)
      if (!group) {
        group = makeGroup(key)
        state.groups.set(key, group)
      }
      group.label = label
      group.names = list
      group.name.textContent = label
      syncItems(group)
    }
    const order = grouped.map((g) => g.key).join('\u0000')
    if (order !== state.order) {
      state.order = order
      groupsBox.append(...grouped.map((g) => state.groups.get(g.key).el))
    }
    empty.textContent = names.length === 0 ? 'This host sent no metric in this range.' : ''
    empty.hidden = names.length > 0
    const families = `${names.length.toLocaleString()} metric${names.length === 1 ? '' : 's'}`
    summary.textContent =
      names.length === 0
        ? ''
        : `${families} in ${grouped.length} group${grouped.length === 1 ? '' : 's'} · counters as rates per second`
    applyFilter()
  }

  function applyFilter() {
    const f = state.filter
    for (const group of state.groups.values()) {
      const matches = f ? group.names.filter((n) => n.toLowerCase().includes(f)) : group.names
      group.el.hidden = matches.length === 0
      group.count.textContent = f ? `${matches.length} of ${group.names.length}` : String(group.names.length)
      if (!group.list) continue
      const shown = new Set(matches)
      for (const item of group.items.values()) item.li.hidden = !shown.has(item.metric)
    }
  }

  filter.addEventListener('input', () => {
    state.filter = filter.value.trim().toLowerCase()
    applyFilter()
  })

  function clearGroups() {
    for (const group of state.groups.values()) {
      for (const item of group.items.values()) closeItem(item)
      group.el.remove()
    }
    state.groups.clear()
    state.order = ''
    summary.textContent = ''
  }

  // ---- one metric's chart ----------------------------------------------------------------------

  function openItem(item) {
    if (item.chart) return
    const body = document.createElement('div')
    body.className = 'metric-body'
    const bar = document.createElement('div')
    bar.className = 'metric-bar'
    const help = document.createElement('span')
    help.className = 'muted metric-help'
    const rateLabel = document.createElement('label')
    rateLabel.className = 'check'
    const rate = document.createElement('input')
    rate.type = 'checkbox'
    rate.className = 'metric-rate'
    rateLabel.append(rate, ' per second (rate)')
    const note = document.createElement('span')
    note.className = 'muted metric-note'
    bar.append(help, note, rateLabel)
    const err = document.createElement('p')
    err.className = 'panel-error'
    err.hidden = true
    const chartBox = document.createElement('div')
    chartBox.className = 'chart'
    body.append(bar, err, chartBox)
    item.el.append(body)
    Object.assign(item, { body, help, rate, note, error: err, loaded: false })
    describeItem(item)
    rate.checked = item.fn === 'rate'
    rate.addEventListener('change', () => {
      item.chosen = true
      item.fn = rate.checked ? 'rate' : 'raw'
      startChart(item, chartBox)
      loadItemNow(item)
    })
    startChart(item, chartBox)
    loadItemNow(item)
  }

  function startChart(item, chartBox) {
    item.chart?.destroy()
    chartBox.replaceChildren()
    item.chart = createChart(chartBox, {
      unit: unitFor(item.metric, item.fn === 'rate'),
      height: CHART_HEIGHT,
    })
    item.chart.reset('loading…')
    item.loaded = false
    item.note.textContent = ''
    item.error.hidden = true
  }

  function closeItem(item) {
    item.controller?.abort()
    item.controller = null
    item.chart?.destroy()
    item.chart = null
    item.buffer = null
    item.body?.remove()
    item.body = null
    item.help = null
  }

  /** Open names of open groups: the charts a refresh redraws. */
  function openItems() {
    const out = []
    for (const group of state.groups.values()) {
      if (!group.el.open || group.el.hidden) continue
      for (const item of group.items.values()) if (item.chart && !item.li.hidden) out.push(item)
    }
    return out
  }

  async function loadItem(item, { host, from, to }, signal) {
    const points = item.chart?.width() || 600
    const response = await api.series(
      { host, metric: item.metric, fn: item.fn, from, to, points },
      { signal },
    )
    return response
  }

  function drawItem(item) {
    const { frame, total } = familyFrame(item.buffer.response(), { metric: item.metric })
    item.chart.update(frame)
    item.note.textContent =
      total > frame.series.length ? `${frame.series.length} largest of ${total} series` : ''
  }

  function showItem(item, fn, result) {
    // Closed, or switched between rate and raw, since the request left: this answer is for nothing.
    if (!item.chart || item.fn !== fn) return
    if (result.status === 'fulfilled') {
      item.error.hidden = true
      // Kept current by the live stream until the next load (live-series.js).
      item.buffer = createSeriesBuffer({ metric: item.metric, fn })
      item.buffer.load(result.value)
      drawItem(item)
      item.loaded = true
    } else {
      item.error.textContent = result.reason instanceof Error ? result.reason.message : String(result.reason)
      item.error.hidden = false
      if (!item.loaded) item.chart.reset('no data')
    }
  }

  /** Loads one chart now (just opened, or rate switched) for the newest refresh's host and range. */
  function loadItemNow(item) {
    const query = state.lastQuery
    if (!query || query.host !== state.host || !item.chart) return
    item.controller?.abort()
    const controller = new window.AbortController()
    item.controller = controller
    const generation = state.generation
    const fn = item.fn
    loadItem(item, query, controller.signal).then(
      (value) => {
        if (generation === state.generation && item.controller === controller)
          showItem(item, fn, { status: 'fulfilled', value })
      },
      (reason) => {
        if (reason?.name === 'AbortError' || generation !== state.generation) return
        if (item.controller === controller) showItem(item, fn, { status: 'rejected', reason })
      },
    )
  }

  // ---- the list --------------------------------------------------------------------------------

  async function loadList({ host, from, to, signal }) {
    const [names, types] = await Promise.all([
      api.metricNames({ match: hostSelector(host), from, to }, { signal }),
      // Without types, `_total` names still chart as rates: no reason to fail the list.
      api.metadata({ signal }).catch((err) => {
        if (err?.name === 'AbortError' || err?.unauthorized) throw err
        return null
      }),
    ])
    return { names, types }
  }

  return {
    /** What the newest load read (the list when it was due, the open charts): the status line counts them. */
    get count() {
      return state.loadCount
    },

    /**
     * The list when it is due (another host, a reset, or 30 s old) and every open chart; `charts: false`
     * (the stream keeps them current) leaves the charts out.
     */
    async load(query, { charts: withCharts = true } = {}) {
      state.lastQuery = query
      const { host, signal } = query
      const due = host !== state.host || Date.now() - state.loadedAt >= FAMILIES_REFRESH_MS
      const settle = (promise) =>
        promise.then(
          (value) => ({ status: 'fulfilled', value }),
          (reason) => ({ status: 'rejected', reason }),
        )
      const items = host === state.host && withCharts ? openItems() : []
      state.loadCount = (due ? 1 : 0) + items.length
      const [list, charts] = await Promise.all([
        due ? settle(loadList(query)) : Promise.resolve(null),
        Promise.all(
          items.map((item) => {
            const fn = item.fn
            return settle(loadItem(item, query, signal)).then((result) => ({ item, fn, result }))
          }),
        ),
      ])
      return { host, list, charts }
    },

    /** One live message: each open chart that has loaded takes its metric's points, trimmed to the range. */
    applyLive(message, { fromMs }) {
      if (message.host !== state.host) return
      for (const item of openItems()) {
        if (!item.loaded || !item.buffer || item.buffer.query.fn !== item.fn) continue
        const added = item.buffer.add(message)
        const trimmed = item.buffer.trim(fromMs / 1000)
        if (added || trimmed) drawItem(item)
      }
    },

    /** Shows what `load` gave; returns its errors (the list's and the charts'). */
    show({ host, list, charts }) {
      const failures = []
      if (host !== state.host) {
        clearGroups()
        state.host = host
        state.loadedAt = 0
      }
      if (list?.status === 'fulfilled') {
        state.loadedAt = Date.now()
        if (list.value.types) state.types = list.value.types
        error.hidden = true
        render(list.value.names)
      } else if (list) {
        failures.push(list.reason)
        error.textContent = list.reason instanceof Error ? list.reason.message : String(list.reason)
        error.hidden = false
        if (state.groups.size === 0) {
          empty.textContent = 'no data'
          empty.hidden = false
        }
      }
      for (const { item, fn, result } of charts) {
        if (result.status === 'rejected') {
          if (result.reason?.name === 'AbortError') continue
          failures.push(result.reason)
        }
        showItem(item, fn, result)
      }
      return failures
    },

    /**
     * The list is re-read at the next load. A new range of the same host (`sameHost`) keeps it, open
     * groups and charts included (the charts wait for the load); another host's list goes at once.
     */
    reset(message = 'loading…', { sameHost = false } = {}) {
      state.generation++
      state.loadedAt = 0
      state.lastQuery = null
      error.hidden = true
      if (!sameHost) {
        clearGroups()
        state.host = null
      }
      if (state.groups.size === 0) {
        empty.textContent = message
        empty.hidden = false
      }
      for (const group of state.groups.values()) {
        for (const item of group.items.values()) {
          item.controller?.abort()
          item.controller = null
          if (!item.chart) continue
          item.chart.reset(message)
          item.loaded = false
          item.error.hidden = true
          item.note.textContent = ''
        }
      }
    },

    restyle() {
      for (const group of state.groups.values()) {
        for (const item of group.items.values()) item.chart?.restyle()
      }
    },
  }
}
