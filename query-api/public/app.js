// Dashboard entry point: sign-in, the fleet and host views, the pickers, the live stream (live.js)
// and the refresh loop that back-fills its gaps, or polls while the stream is away.

import { createApi } from './api.js'
import { forgetKey, signIn, storedKey, takeKeyFromHash } from './auth.js'
import { FLEET_LIVE_METRICS } from './fleet-live.js'
import { createFleetView } from './fleet-view.js'
import { formatAgo, formatClock } from './format.js'
import { createHostView } from './host-view.js'
import { createPipelineView } from './pipeline-view.js'
import { createLiveStream } from './live.js'
import { currentRoute, FLEET_HREF, goTo, hostHref, onRouteChange } from './router.js'

const REFRESH_MS = 2_000
const HOSTS_REFRESH_MS = 15_000
/** While the stream is up, the host list, header and metric list are re-read this often (no chart data). */
const META_REFRESH_MS = 15_000
const LIVE_RECHECK_MS = 60_000
// A host silent for this long is flagged: the agent samples every second or faster.
const STALE_HOST_MS = 30_000
const RANGE_STORAGE_KEY = 'procstream.rangeMs'

const $ = (id) => document.getElementById(id)
const ui = {
  controls: $('controls'),
  navFleet: $('nav-fleet'),
  navHost: $('nav-host'),
  hostControls: $('host-controls'),
  host: $('host'),
  hostSeen: $('host-seen'),
  range: $('range'),
  virtualField: $('virtual-field'),
  virtual: $('virtual'),
  live: $('live'),
  tenant: $('tenant'),
  signout: $('signout'),
  status: $('status'),
  signin: $('signin'),
  nohosts: $('nohosts'),
  fleet: $('fleet'),
  dashboard: $('dashboard'),
  navPipeline: $('nav-pipeline'),
  pipeline: $('pipeline'),
}

const api = createApi({ getKey: storedKey })
const pipelineView = createPipelineView(ui.pipeline, {
  getKey: storedKey,
  onUnauthorized: () => {
    void requireSignIn('The server rejected the key; sign in again.')
  },
})

const state = {
  running: false,
  // Live is the normal state: every refresh asks for the range ending now, so the charts advance.
  paused: false,
  route: currentRoute(),
  hosts: [],
  hostsFetchedAt: 0,
  host: null,
  rangeMs: readStoredRange(),
  includeVirtual: false,
  timer: null,
  // Bumped whenever what is on screen changes (view, host, range, sign-out): late answers from an
  // older generation are dropped instead of overwriting newer charts.
  generation: 0,
  inflight: null,
  busy: false,
  again: false,
  forceOnce: false,
  lastUpdate: null,
  // The live stream: its state ('idle', 'connecting', 'open', 'down') and why it is down.
  stream: { state: 'idle', reason: '' },
  // False when whoami says this server has no live path (no NATS): no stream is asked for, so no
  // request fails over and over; whoami is asked again every LIVE_RECHECK_MS.
  liveAvailable: true,
  liveCheckedAt: 0,
  // A load that fills a gap in the stream (it opened again, a new host appeared) is due.
  backfill: false,
  // Messages that came while a load was reading: applied after it, on top of what it read.
  pending: null,
}

const hostView = createHostView(ui.dashboard, { api })
const fleetView = createFleetView(ui.fleet, {
  api,
  onOpen: (hostId) => {
    goTo({ view: 'host', host: hostId })
  },
})

// ---- live stream ---------------------------------------------------------------------------------

const stream = createLiveStream({
  getKey: storedKey,
  onMessage: applyMessage,
  onOpen: () => {
    // Whatever was stored while no stream was open (or before this one) comes from one load.
    state.backfill = true
    schedule(0)
  },
  onState: ({ state: next, reason }) => {
    state.stream = { state: next, reason: reason ?? '' }
    renderStatusLive()
    // Down: polling takes over at once, and the stream keeps retrying behind it.
    if (next === 'down') schedule(0)
  },
  onUnauthorized: () => {
    void requireSignIn('The server rejected the key; sign in again.')
  },
})

function streaming() {
  return state.stream.state === 'open'
}

/** One stream per tab: the fleet's few metrics of every host, or everything of the open host. */
function syncStream() {
  const want =
    state.running &&
    !state.paused &&
    document.visibilityState !== 'hidden' &&
    state.route.view !== 'pipeline' &&
    (state.route.view === 'fleet' || (state.route.view === 'host' && Boolean(state.host)))
  if (!want) {
    stream.close()
    return
  }
  if (!state.liveAvailable) {
    stream.close()
    state.stream = { state: 'down', reason: 'this query API runs without NATS' }
    return
  }
  stream.open(state.route.view === 'fleet' ? { metric: FLEET_LIVE_METRICS.join(',') } : { host: state.host })
}

function applyMessage(message) {
  if (!state.running || state.paused) return
  if (state.pending) {
    state.pending.push(message)
    return
  }
  const newest = message.points.reduce((max, p) => Math.max(max, p[2] / 1000), -Infinity)
  const known = state.hosts.find((h) => h.host_id === message.host)
  if (known && Number.isFinite(newest) && !(known.last_seen_ms >= newest)) known.last_seen_ms = newest
  if (state.route.view === 'fleet') {
    // A host the table does not list yet: one read of the fleet brings its history and its row.
    if (fleetView.applyLive(message) === 'unknown' && !state.backfill) {
      state.backfill = true
      schedule(0)
    }
  } else if (state.route.view === 'host' && message.host === state.host) {
    hostView.applyLive(message, { fromMs: Date.now() - state.rangeMs })
  } else {
    return
  }
  state.lastUpdate = Date.now()
}

/** What the status line starts with: how the page follows the newest data right now. */
function liveLabel() {
  if (state.paused) return 'Paused · '
  if (streaming()) return 'Live · streaming · '
  if (state.stream.state === 'down')
    return `Live stream unavailable (${state.stream.reason}); polling every ${REFRESH_MS / 1000} s · `
  return 'Live · '
}

/** While the stream carries the page, the status line says when it last moved. */
function renderStatusLive() {
  if (!state.running || state.paused || state.busy || !streaming()) return
  if (ui.status.dataset.kind === 'error') return
  setStatus(
    `${liveLabel()}${state.lastUpdate ? `updated ${formatClock(state.lastUpdate)}` : 'waiting for samples'}`,
  )
}

// ---- status line ---------------------------------------------------------------------------------

function setStatus(text, kind = 'info') {
  ui.status.textContent = text
  ui.status.dataset.kind = kind
}

function describeError(err) {
  return err instanceof Error ? err.message : String(err)
}

// ---- views and hosts -----------------------------------------------------------------------------

/** Shows the view the route names; the visible parts follow state, nothing else toggles them. */
function renderView() {
  const fleet = state.route.view === 'fleet'
  const signedIn = state.running
  ui.fleet.hidden = !signedIn || !fleet
  ui.hostControls.hidden = fleet
  ui.virtualField.hidden = fleet
  const noHosts = state.hostsFetchedAt > 0 && state.hosts.length === 0
  ui.nohosts.hidden = !signedIn || fleet || !noHosts
  ui.dashboard.hidden = !signedIn || fleet || noHosts
  for (const [link, active] of [
    [ui.navFleet, fleet],
    [ui.navHost, !fleet],
  ]) {
    if (active) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
  ui.navHost.href = state.host ? hostHref(state.host) : '#host='
  const host = state.hosts.find((h) => h.host_id === state.host)
  document.title = fleet ? 'Fleet · procstream' : `${host?.hostname || state.host || 'Host'} · procstream`
  renderPipeline(signedIn)
}

/** The pipeline view refreshes itself (pipeline-view.js); on its route the fleet and host parts step aside. */
function renderPipeline(signedIn) {
  const pipeline = state.route.view === 'pipeline'
  ui.pipeline.hidden = !signedIn || !pipeline
  pipelineView.setActive(signedIn && pipeline)
  for (const part of [ui.range, ui.live]) part.hidden = pipeline
  if (!pipeline) {
    ui.navPipeline.removeAttribute('aria-current')
    return
  }
  for (const part of [ui.hostControls, ui.virtualField, ui.nohosts, ui.dashboard]) part.hidden = true
  ui.navHost.removeAttribute('aria-current')
  ui.navPipeline.setAttribute('aria-current', 'page')
  document.title = 'Pipeline · procstream'
  setStatus('')
}

/** The pipeline link is for operator keys; a key that reads no tenant has nothing else to show. */
function showPipelineLink(identity) {
  const scopes = identity?.scopes ?? []
  ui.navPipeline.hidden = !scopes.includes('operator')
  if (scopes.includes('operator') && !scopes.includes('read') && state.route.view !== 'pipeline') {
    state.route = { view: 'pipeline' }
    goTo(state.route, { replace: true })
  }
}

function setHosts(hosts) {
  state.hostsFetchedAt = Date.now()
  state.hosts = [...hosts].sort((a, b) => (b.last_seen_ms ?? 0) - (a.last_seen_ms ?? 0))
  // `#host=` without a name means "the most recently seen one".
  if (state.route.view === 'host' && !state.host && state.hosts[0]) {
    selectHost(state.hosts[0].host_id)
    goTo({ view: 'host', host: state.host }, { replace: true })
  }
  renderHostPicker()
  renderView()
}

async function loadHosts() {
  setHosts(await api.hosts())
}

function renderHostPicker() {
  // A host named in the address but not (or no longer) reporting stays pickable.
  const listed = state.host && !state.hosts.some((h) => h.host_id === state.host)
  const hosts = listed ? [{ host_id: state.host, hostname: state.host }, ...state.hosts] : state.hosts
  const signature = hosts.map((h) => `${h.host_id}\u0000${h.hostname}`).join('\u0001')
  // Rebuilding the options while the list is open would close it under the user's pointer.
  if (signature !== ui.host.dataset.signature) {
    ui.host.dataset.signature = signature
    const options = hosts.map((h) => {
      const option = document.createElement('option')
      option.value = h.host_id
      option.textContent = h.hostname || h.host_id
      option.title = h.host_id
      return option
    })
    ui.host.replaceChildren(...options)
  }
  if (state.host) ui.host.value = state.host
  renderHostSeen()
}

/** Whether the server has gained a live path (a restart with NATS) since whoami said it had none. */
function recheckLive() {
  if (state.liveAvailable || !state.running || Date.now() - state.liveCheckedAt < LIVE_RECHECK_MS) return
  state.liveCheckedAt = Date.now()
  api.whoami().then(
    (identity) => {
      if (identity?.live === false) return
      state.liveAvailable = true
      syncStream()
    },
    () => {
      // The next check asks again; polling goes on meanwhile.
    },
  )
}

/** Ages move on every second, between loads and messages alike. */
function tickAges() {
  recheckLive()
  const now = Date.now()
  renderHostSeen()
  if (state.route.view === 'fleet') fleetView.tick(now)
  renderStatusLive()
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
  abandonInflight()
  hostView.reset()
  syncStream()
}

function applyRoute(route) {
  const viewChanged = route.view !== state.route.view
  state.route = route
  if (route.view === 'host') {
    if (route.host) selectHost(route.host)
    else if (state.host) goTo({ view: 'host', host: state.host }, { replace: true })
  }
  // The fleet table is kept while a host is open: going back shows it at once, then refreshes it.
  if (viewChanged) {
    abandonInflight()
    if (route.view === 'host') hostView.reset()
  }
  renderHostPicker()
  renderView()
  syncStream()
  if (state.running) refreshNow()
}

// ---- refresh loop --------------------------------------------------------------------------------

function abandonInflight() {
  state.generation++
  state.inflight?.abort()
  state.inflight = null
}

/** Loads the fleet; returns the errors (none or one), or null when the answer came too late to show. */
async function refreshFleet(from, to, signal, generation) {
  try {
    const response = await fleetView.load({ from, to, signal })
    if (generation !== state.generation) return null
    fleetView.show(response)
    // The fleet lists every host: the host picker needs no request of its own meanwhile.
    setHosts(response.hosts)
    return []
  } catch (err) {
    if (generation !== state.generation) return null
    if (err?.name === 'AbortError' || err?.unauthorized) throw err
    fleetView.showError(describeError(err))
    return [err]
  }
}

async function refreshHost(from, to, signal, generation, { meta = false } = {}) {
  if (state.hosts.length === 0 || Date.now() - state.hostsFetchedAt > HOSTS_REFRESH_MS) {
    await loadHosts()
  } else {
    renderHostSeen()
  }
  const host = state.host
  if (!host) return null
  // The stream carries the charts: only the header and the metric list are read (`meta`).
  const query = { host, from, to, signal, includeVirtual: state.includeVirtual }
  const loaded = await (meta ? hostView.loadMeta(query) : hostView.load(query))
  if (generation !== state.generation) return null
  return hostView.show(loaded)
}

async function refresh({ meta = false } = {}) {
  // The pipeline view reads on its own timer and shows its own state.
  if (state.route.view === 'pipeline') {
    setStatus('')
    return
  }
  const generation = state.generation
  const controller = new window.AbortController()
  state.inflight = controller
  const to = Date.now()
  const from = to - state.rangeMs
  const started = performance.now()
  const fleet = state.route.view === 'fleet'
  if (fleet && meta) {
    state.inflight = null
    return
  }
  const failures = fleet
    ? await refreshFleet(from, to, controller.signal, generation)
    : await refreshHost(from, to, controller.signal, generation, { meta })
  if (generation !== state.generation) return
  state.inflight = null
  if (failures === null) {
    setStatus('No host has reported yet.')
    return
  }

  const unauthorized = failures.find((err) => err?.unauthorized)
  if (unauthorized) throw unauthorized

  const total = fleet ? 1 : meta ? failures.length || 1 : hostView.panelCount
  if (failures.length < total) state.lastUpdate = Date.now()
  const took = Math.round(performance.now() - started)
  const updated =
    liveLabel() + (state.lastUpdate ? `updated ${formatClock(state.lastUpdate)}` : 'not updated yet')
  if (failures.length === 0) {
    setStatus(`${updated} · ${took} ms`)
  } else if (failures.length === total) {
    setStatus(`${updated} · ${describeError(failures[0])} — retrying every ${REFRESH_MS / 1000} s`, 'error')
  } else {
    setStatus(`${updated} · ${failures.length} of ${total} panels failed`, 'error')
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
  // A full load when asked for (a new view, a gap to fill) or while polling; with the stream up,
  // only what the stream does not carry.
  const full = state.forceOnce || state.backfill || !streaming()
  state.forceOnce = false
  state.backfill = false
  if (full && streaming()) state.pending = []
  let rejected = false
  try {
    await refresh({ meta: !full })
  } catch (err) {
    if (err?.unauthorized) rejected = true
    else if (err?.name !== 'AbortError') setStatus(describeError(err), 'error')
  } finally {
    state.busy = false
    const pending = state.pending ?? []
    state.pending = null
    for (const message of pending) applyMessage(message)
  }
  if (rejected) {
    await requireSignIn('The server rejected the key; sign in again.')
    return
  }
  const delay = state.again || state.backfill ? 0 : streaming() ? META_REFRESH_MS : REFRESH_MS
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

function setLive(live) {
  state.paused = !live
  ui.live.setAttribute('aria-pressed', String(live))
  ui.live.title = live
    ? 'Live: the charts follow the newest data as it is stored. Press to freeze them.'
    : 'Frozen: press to follow the newest data again.'
  syncStream()
  if (live) {
    refreshNow()
  } else {
    schedule()
    setStatus(`Paused · ${state.lastUpdate ? `last update ${formatClock(state.lastUpdate)}` : 'no data yet'}`)
  }
}

// ---- sign-in -------------------------------------------------------------------------------------

function stop() {
  state.running = false
  if (state.timer) clearTimeout(state.timer)
  state.timer = null
  abandonInflight()
  syncStream()
}

async function requireSignIn(message) {
  stop()
  forgetKey()
  ui.controls.hidden = true
  ui.signout.hidden = true
  ui.tenant.textContent = ''
  renderView()
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
  showPipelineLink(identity)
  state.running = true
  state.liveAvailable = identity?.live !== false
  state.liveCheckedAt = Date.now()
  state.hosts = []
  state.hostsFetchedAt = 0
  fleetView.reset()
  hostView.reset()
  renderView()
  setStatus('Loading…')
  syncStream()
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
    abandonInflight()
    if (state.route.view === 'host') hostView.reset('loading…', { sameHost: true })
    refreshNow()
  })

  ui.host.addEventListener('change', () => {
    goTo({ view: 'host', host: ui.host.value })
  })

  ui.virtual.addEventListener('change', () => {
    state.includeVirtual = ui.virtual.checked
    refreshNow()
  })

  ui.live.addEventListener('click', () => {
    setLive(state.paused)
  })

  ui.signout.addEventListener('click', () => {
    void requireSignIn('')
  })

  onRouteChange(applyRoute)

  // Hidden tabs close the stream and stop polling; coming back opens it again, and its opening
  // back-fills what was stored meanwhile.
  document.addEventListener('visibilitychange', () => {
    syncStream()
    schedule(document.visibilityState === 'visible' ? 0 : REFRESH_MS)
  })

  setInterval(tickAges, 1_000)

  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    hostView.restyle()
  })
}

async function main() {
  wireControls()
  takeKeyFromHash()
  state.route = currentRoute()
  if (state.route.view === 'host' && state.route.host) state.host = state.route.host
  if (!window.location.hash) goTo({ view: 'fleet' }, { replace: true })
  ui.navFleet.href = FLEET_HREF
  renderView()

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
