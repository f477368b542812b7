// Dashboard entry point: sign-in, host/range pickers, and the refresh loop that feeds the charts.

import { createApi } from './api.js'
import { forgetKey, signIn, storedKey, takeKeyFromHash } from './auth.js'
import { createChart } from './charts.js'
import { formatAgo, formatClock } from './format.js'
import { PANELS } from './panels.js'

const REFRESH_MS = 2_000
const HOSTS_REFRESH_MS = 15_000
// A host silent for this long is flagged: the agent samples every second or faster.
const STALE_HOST_MS = 30_000
const RANGE_STORAGE_KEY = 'procstream.rangeMs'

const $ = (id) => document.getElementById(id)
const ui = {
  controls: $('controls'),
  host: $('host'),
  hostSeen: $('host-seen'),
  range: $('range'),
  virtual: $('virtual'),
  pause: $('pause'),
  tenant: $('tenant'),
  signout: $('signout'),
  status: $('status'),
  signin: $('signin'),
  nohosts: $('nohosts'),
  dashboard: $('dashboard'),
}

const api = createApi({ getKey: storedKey })

const state = {
  running: false,
  paused: false,
  hosts: [],
  hostsFetchedAt: 0,
  host: null,
  rangeMs: readStoredRange(),
  includeVirtual: false,
  timer: null,
  // Bumped whenever what is on screen changes (host, range, sign-out): late answers from an older
  // generation are dropped instead of overwriting newer charts.
  generation: 0,
  inflight: null,
  busy: false,
  again: false,
  forceOnce: false,
  lastUpdate: null,
}

/** Panel id → { panel, chart, error element, loaded: whether the chart shows data for this view } */
const views = new Map()

function buildPanels() {
  for (const panel of PANELS) {
    const section = document.createElement('section')
    section.className = 'panel'
    section.id = `panel-${panel.id}`
    const header = document.createElement('header')
    const title = document.createElement('h2')
    title.textContent = panel.title
    const hint = document.createElement('span')
    hint.className = 'muted'
    hint.textContent = panel.hint
    header.append(title, hint)
    const error = document.createElement('p')
    error.className = 'panel-error'
    error.hidden = true
    const body = document.createElement('div')
    body.className = 'chart'
    section.append(header, error, body)
    ui.dashboard.append(section)
    const chart = createChart(body, panel.chart)
    chart.reset('loading…')
    views.set(panel.id, { panel, chart, error, loaded: false })
  }
}

// ---- status line ---------------------------------------------------------------------------------

function setStatus(text, kind = 'info') {
  ui.status.textContent = text
  ui.status.dataset.kind = kind
}

function describeError(err) {
  return err instanceof Error ? err.message : String(err)
}

// ---- hosts ---------------------------------------------------------------------------------------

async function loadHosts() {
  const hosts = await api.hosts()
  state.hostsFetchedAt = Date.now()
  state.hosts = [...hosts].sort((a, b) => (b.last_seen_ms ?? 0) - (a.last_seen_ms ?? 0))
  const known = state.hosts.some((h) => h.host_id === state.host)
  if (!known) selectHost(state.hosts[0]?.host_id ?? null)
  renderHostPicker()
}

function renderHostPicker() {
  const signature = state.hosts.map((h) => `${h.host_id}\u0000${h.hostname}`).join('\u0001')
  // Rebuilding the options while the list is open would close it under the user's pointer.
  if (signature !== ui.host.dataset.signature) {
    ui.host.dataset.signature = signature
    const options = state.hosts.map((h) => {
      const option = document.createElement('option')
      option.value = h.host_id
      option.textContent = h.hostname || h.host_id
      option.title = h.host_id
      return option
    })
    ui.host.replaceChildren(...options)
  }
  if (state.host) ui.host.value = state.host
  ui.nohosts.hidden = state.hosts.length > 0
  ui.dashboard.hidden = state.hosts.length === 0
  renderHostSeen()
}

function renderHostSeen() {
  const host = state.hosts.find((h) => h.host_id === state.host)
  if (!host?.last_seen_ms) {
    ui.hostSeen.textContent = ''
    return
  }
  const now = Date.now()
  ui.hostSeen.textContent = `last seen ${formatAgo(host.last_seen_ms, now)}`
  ui.hostSeen.classList.toggle('stale', now - host.last_seen_ms > STALE_HOST_MS)
}

function selectHost(hostId) {
  if (hostId === state.host) return
  state.host = hostId
  resetCharts()
}

// ---- refresh loop --------------------------------------------------------------------------------

function resetCharts() {
  state.generation++
  state.inflight?.abort()
  state.inflight = null
  for (const view of views.values()) {
    view.chart.reset('loading…')
    view.loaded = false
    view.error.hidden = true
  }
}

async function loadPanel(view, host, from, to, signal) {
  const { panel, chart } = view
  const points = chart.width() || 600
  const responses = await Promise.all(
    panel.queries.map((q) => api.series({ ...q, host, from, to, points }, { signal })),
  )
  return panel.build(responses, { includeVirtual: state.includeVirtual })
}

async function refresh() {
  if (state.hosts.length === 0 || Date.now() - state.hostsFetchedAt > HOSTS_REFRESH_MS) {
    await loadHosts()
  } else {
    renderHostSeen()
  }
  const host = state.host
  if (!host) {
    setStatus('No host has reported yet.')
    return
  }

  const generation = state.generation
  const controller = new window.AbortController()
  state.inflight = controller
  const to = Date.now()
  const from = to - state.rangeMs
  const started = performance.now()
  const entries = [...views.values()]
  const results = await Promise.allSettled(
    entries.map((view) => loadPanel(view, host, from, to, controller.signal)),
  )
  if (generation !== state.generation) return
  state.inflight = null

  const failures = []
  results.forEach((result, i) => {
    const view = entries[i]
    if (result.status === 'fulfilled') {
      view.error.hidden = true
      view.chart.update(result.value)
      view.loaded = true
    } else {
      // A chart that did load keeps its last picture under the error; one that never did says so.
      failures.push(result.reason)
      view.error.textContent = describeError(result.reason)
      view.error.hidden = false
      if (!view.loaded) view.chart.reset('no data')
    }
  })

  const unauthorized = failures.find((err) => err?.unauthorized)
  if (unauthorized) throw unauthorized

  if (failures.length < results.length) state.lastUpdate = Date.now()
  const took = Math.round(performance.now() - started)
  const updated =
    (state.paused ? 'Paused · ' : '') +
    (state.lastUpdate ? `Updated ${formatClock(state.lastUpdate)}` : 'Not updated yet')
  if (failures.length === 0) {
    setStatus(`${updated} · ${took} ms`)
  } else if (failures.length === results.length) {
    setStatus(`${updated} · ${describeError(failures[0])} — retrying every ${REFRESH_MS / 1000} s`, 'error')
  } else {
    setStatus(`${updated} · ${failures.length} of ${results.length} panels failed`, 'error')
  }
}

async function tick() {
  state.timer = null
  if (!canRun()) return
  // One refresh at a time: a request for another one while busy runs right after it instead.
  if (state.busy) {
    state.again = true
    return
  }
  state.busy = true
  state.forceOnce = false
  let rejected = false
  try {
    await refresh()
  } catch (err) {
    if (err?.unauthorized) rejected = true
    else if (err?.name !== 'AbortError') setStatus(describeError(err), 'error')
  } finally {
    state.busy = false
  }
  if (rejected) {
    await requireSignIn('The server rejected the key; sign in again.')
    return
  }
  const delay = state.again ? 0 : REFRESH_MS
  state.again = false
  schedule(delay)
}

function canRun() {
  return state.running && (!state.paused || state.forceOnce) && document.visibilityState !== 'hidden'
}

/** Next refresh REFRESH_MS after this one finished, so slow answers never pile up. */
function schedule(delay = REFRESH_MS) {
  if (state.timer) clearTimeout(state.timer)
  state.timer = null
  if (!canRun()) return
  state.timer = setTimeout(() => void tick(), delay)
}

/**
 * Refreshes right away (after a picker change), even when paused so the new view is not left empty; an
 * in-flight refresh of the old view is abandoned.
 */
function refreshNow() {
  state.forceOnce = true
  schedule(0)
}

// ---- sign-in -------------------------------------------------------------------------------------

function stop() {
  state.running = false
  if (state.timer) clearTimeout(state.timer)
  state.timer = null
  state.generation++
  state.inflight?.abort()
  state.inflight = null
}

async function requireSignIn(message) {
  stop()
  forgetKey()
  ui.controls.hidden = true
  ui.signout.hidden = true
  ui.dashboard.hidden = true
  ui.nohosts.hidden = true
  ui.tenant.textContent = ''
  setStatus('')
  const { identity } = await signIn(ui.signin, {
    validate: (key) => api.whoami({ key }),
    message,
  })
  start(identity)
}

function start(identity) {
  ui.tenant.textContent = identity?.tenant ? `tenant ${identity.tenant}` : ''
  ui.controls.hidden = false
  ui.signout.hidden = false
  state.running = true
  state.hosts = []
  state.hostsFetchedAt = 0
  setStatus('Loading…')
  refreshNow()
}

// ---- wiring --------------------------------------------------------------------------------------

function readStoredRange() {
  try {
    const value = Number(localStorage.getItem(RANGE_STORAGE_KEY))
    if (Number.isFinite(value) && value > 0) return value
  } catch {
    // Storage disabled: fall back to the default below.
  }
  return 15 * 60_000
}

function wireControls() {
  for (const input of ui.range.querySelectorAll('input[name="range"]')) {
    input.checked = Number(input.value) === state.rangeMs
  }
  ui.range.addEventListener('change', (event) => {
    state.rangeMs = Number(event.target.value)
    try {
      localStorage.setItem(RANGE_STORAGE_KEY, String(state.rangeMs))
    } catch {
      // Not remembering the range is harmless.
    }
    resetCharts()
    refreshNow()
  })

  ui.host.addEventListener('change', () => {
    selectHost(ui.host.value)
    renderHostSeen()
    refreshNow()
  })

  ui.virtual.addEventListener('change', () => {
    state.includeVirtual = ui.virtual.checked
    refreshNow()
  })

  ui.pause.addEventListener('click', () => {
    state.paused = !state.paused
    ui.pause.setAttribute('aria-pressed', String(state.paused))
    ui.pause.textContent = state.paused ? 'Resume' : 'Pause'
    if (state.paused) {
      schedule()
      setStatus(
        `Paused · ${state.lastUpdate ? `last update ${formatClock(state.lastUpdate)}` : 'no data yet'}`,
      )
    } else {
      refreshNow()
    }
  })

  ui.signout.addEventListener('click', () => {
    void requireSignIn('')
  })

  // Hidden tabs stop polling entirely; coming back refreshes at once so the charts are current.
  document.addEventListener('visibilitychange', () => {
    schedule(document.visibilityState === 'visible' ? 0 : REFRESH_MS)
  })

  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    for (const view of views.values()) view.chart.restyle()
  })
}

async function main() {
  buildPanels()
  wireControls()
  takeKeyFromHash()

  if (!storedKey()) {
    await requireSignIn('')
    return
  }
  try {
    start(await api.whoami())
  } catch (err) {
    if (err?.unauthorized) {
      await requireSignIn('The key was rejected; sign in with a valid one.')
      return
    }
    // The server may just be starting: keep the key and let the refresh loop retry and report.
    start(null)
    setStatus(describeError(err), 'error')
  }
}

void main()
