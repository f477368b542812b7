// The operator's pipeline view (#pipeline): the installation's components, ingest rate, consumer lag,
// freshness, dead letters and agents, from GET /api/v1/pipeline (operator keys only).

import { ApiError } from './api.js'
import { formatBytes, formatBytesPerSecond, formatClock, formatNumber } from './format.js'

/** The components are read at most once per refresh: a few seconds is what an operator watches at. */
export const PIPELINE_REFRESH_MS = 5_000
const REQUEST_TIMEOUT_MS = 15_000

/**
 * @param {HTMLElement} root the #pipeline section
 * @param {{ getKey: () => string | null, onUnauthorized: () => void }} options
 */
export function createPipelineView(root, { getKey, onUnauthorized }) {
  const el = (tag, className, text) => {
    const node = document.createElement(tag)
    if (className) node.className = className
    if (text !== undefined) node.textContent = text
    return node
  }
  const section = (title) => {
    const box = el('section', 'panel pipeline-panel')
    const header = el('header')
    header.append(el('h2', '', title))
    const note = el('span', 'muted')
    header.append(note)
    const body = el('div', 'pipeline-body')
    box.append(header, body)
    return { box, note, body }
  }

  const toolbar = el('div', 'pipeline-toolbar')
  const title = el('h2', '', 'Pipeline')
  const updated = el('span', 'muted')
  toolbar.append(title, updated)
  const error = el('p', 'panel-error')
  error.hidden = true
  const grid = el('div', 'pipeline-grid')
  const components = section('Components')
  components.box.classList.add('panel-wide')
  const ingest = section('Ingest rate')
  const freshness = section('Freshness')
  const agents = section('Agents')
  const lag = section('Consumer lag')
  const deadLetters = section('Dead letters')
  grid.append(components.box, ingest.box, freshness.box, agents.box, lag.box, deadLetters.box)
  root.append(toolbar, error, grid)

  let active = false
  // Bumped on every show/hide, so a refresh loop of an earlier showing stops instead of doubling up.
  let generation = 0
  let timer = null
  let inflight = null

  function table(headers, rows, { empty, rowClass } = {}) {
    if (rows.length === 0) return el('p', 'muted pipeline-empty', empty ?? 'none')
    const t = el('table', 'pipeline-table')
    const head = el('tr')
    for (const h of headers) head.append(el('th', '', h))
    t.createTHead().append(head)
    const body = t.createTBody()
    for (const row of rows) {
      const tr = el('tr', rowClass?.(row) ?? '')
      for (const cell of row.cells) tr.append(el('td', '', cell))
      body.append(tr)
    }
    return t
  }

  const figure = (label, value, className = '') => {
    const box = el('div', `pipeline-figure ${className}`.trim())
    box.append(el('span', 'pipeline-figure-value', value), el('span', 'muted', label))
    return box
  }

  const seconds = (s) => (s === null ? '–' : s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`)
  const count = (n) => (n === null || n === undefined ? '–' : formatNumber(n))
  const uptime = (s) => {
    if (s === null) return '–'
    if (s < 120) return `${s} s`
    if (s < 7_200) return `${Math.floor(s / 60)} min`
    if (s < 172_800) return `${Math.floor(s / 3_600)} h`
    return `${Math.floor(s / 86_400)} d`
  }

  function show(summary) {
    error.hidden = true
    updated.textContent = `updated ${formatClock(summary.generated_at_ms)} · every ${PIPELINE_REFRESH_MS / 1000} s`

    const down = summary.components.filter((c) => !c.up).length
    components.note.textContent =
      summary.components.length === 0
        ? 'none configured (QUERY_PIPELINE_TARGETS)'
        : down === 0
          ? `all ${summary.components.length} up`
          : `${down} of ${summary.components.length} down`
    components.body.replaceChildren(
      table(
        ['name', 'state', 'component', 'version', 'uptime', 'address'],
        summary.components.map((c) => ({
          up: c.up,
          cells: [
            c.name,
            c.up ? 'up' : `down: ${c.error ?? 'no answer'}`,
            c.component ?? '–',
            c.version ?? '–',
            uptime(c.uptime_s),
            c.url,
          ],
        })),
        { empty: 'No component is configured.', rowClass: (r) => (r.up ? 'up' : 'down') },
      ),
    )

    const rate = (r, fmt) => (r.per_s === null ? '–' : fmt(r.per_s))
    ingest.note.textContent =
      summary.ingest.note ?? (summary.ingest.window_s ? `over ${summary.ingest.window_s} s` : '')
    const figures = el('div', 'pipeline-figures')
    figures.append(
      figure(
        'records/s at the gateways',
        rate(summary.ingest.records, (v) => formatNumber(Math.round(v))),
      ),
      figure('bytes/s at the gateways', rate(summary.ingest.bytes, formatBytesPerSecond)),
      figure(
        'envelopes/s stored',
        rate(summary.ingest.stored_envelopes, (v) => formatNumber(Math.round(v))),
      ),
    )
    ingest.body.replaceChildren(figures)

    const f = summary.freshness
    freshness.note.textContent =
      f.window === 'recent'
        ? `${formatNumber(f.observations)} envelopes since the last refresh`
        : `${formatNumber(f.observations)} envelopes since start`
    const fresh = el('div', 'pipeline-figures')
    fresh.append(
      figure('p50, sample → queryable', seconds(f.p50_s)),
      figure('p99', seconds(f.p99_s), f.p99_s > 2 ? 'warn' : ''),
    )
    freshness.body.replaceChildren(fresh)

    const counts = summary.agents.counts
    const agentFigures = el('div', 'pipeline-figures')
    agentFigures.append(
      figure('reporting', count(counts?.reporting)),
      figure('late', count(counts?.late), counts?.late > 0 ? 'warn' : ''),
      figure('silent', count(counts?.silent), counts?.silent > 0 ? 'warn' : ''),
      figure('spooling', count(counts?.spooling), counts?.spooling > 0 ? 'warn' : ''),
    )
    agents.note.textContent = counts ? 'the last 5 min, from the processors' : 'no processor answered'
    agents.body.replaceChildren(
      agentFigures,
      table(
        ['agent', 'spooled', 'spool size', 'queued', 'errors', 'late'],
        summary.agents.scraped.map((a) => ({
          spooling: a.spooling,
          cells: [
            a.name,
            count(a.spool_records),
            a.spool_bytes === null ? '–' : formatBytes(a.spool_bytes),
            count(a.queued_records),
            count(a.send_errors),
            count(a.ticks_late),
          ],
        })),
        { empty: 'No agent is among the components.', rowClass: (r) => (r.spooling ? 'down' : '') },
      ),
    )

    const total = summary.lag.reduce((sum, l) => sum + l.messages, 0)
    lag.note.textContent = `${formatNumber(total)} messages behind`
    lag.body.replaceChildren(
      table(
        ['group', 'partition', 'messages behind'],
        summary.lag.map((l) => ({
          behind: l.messages > 0,
          cells: [
            l.group === 'raw' ? 'raw (processor)' : 'tiers (tier feeder)',
            String(l.partition),
            formatNumber(l.messages),
          ],
        })),
        { empty: 'No processor reported its lag.' },
      ),
    )

    const d = summary.dead_letters
    deadLetters.note.textContent =
      d.stalled_partitions > 0
        ? `${d.stalled_partitions} partitions stalled: dead letters cannot be written`
        : d.failures > 0
          ? `${formatNumber(d.failures)} failed writes (retried)`
          : 'since the processors started'
    deadLetters.body.replaceChildren(
      table(
        ['reason', 'records'],
        d.by_reason.map((r) => ({ cells: [r.reason, formatNumber(r.count)] })),
        { empty: 'None.' },
      ),
    )
  }

  async function load() {
    const controller = new window.AbortController()
    inflight = controller
    const timeout = setTimeout(() => {
      controller.abort()
    }, REQUEST_TIMEOUT_MS)
    try {
      const response = await fetch('/api/v1/pipeline', {
        headers: { Authorization: `Bearer ${getKey() ?? ''}`, Accept: 'application/json' },
        signal: controller.signal,
        cache: 'no-store',
      })
      const body = await response.json().catch(() => undefined)
      if (!response.ok) {
        const message = typeof body?.error === 'string' ? body.error : `HTTP ${response.status}`
        throw new ApiError(`/api/v1/pipeline: ${message}`, {
          status: response.status,
          code: body?.code ?? '',
        })
      }
      if (inflight === controller && active) show(body)
    } catch (err) {
      if (inflight !== controller || !active) return
      if (err?.unauthorized) {
        onUnauthorized()
        return
      }
      error.textContent =
        err?.name === 'AbortError'
          ? `/api/v1/pipeline: no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
          : String(err?.message ?? err)
      error.hidden = false
    } finally {
      clearTimeout(timeout)
      if (inflight === controller) inflight = null
    }
  }

  async function tick() {
    const mine = generation
    timer = null
    if (!active || document.visibilityState === 'hidden') return
    await load()
    if (active && mine === generation && timer === null)
      timer = setTimeout(() => void tick(), PIPELINE_REFRESH_MS)
  }

  document.addEventListener('visibilitychange', () => {
    if (active && document.visibilityState === 'visible' && timer === null && inflight === null) void tick()
  })

  return {
    /** Shown (and refreshing every PIPELINE_REFRESH_MS while the tab is visible) or not. */
    setActive(value) {
      if (value === active) return
      active = value
      generation++
      if (timer) clearTimeout(timer)
      timer = null
      inflight?.abort()
      inflight = null
      if (active) void tick()
    },
  }
}
