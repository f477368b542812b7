// The host view: a header of what the host is, one chart per panel of panels.js, and below them every
// metric family the host sends, loaded together for one host and time range.

import { createChart } from './charts.js'
import { createHostInfo } from './host-info.js'
import { createSeriesBuffer } from './live-series.js'
import { createMetricsSection } from './metrics-section.js'
import { PANELS } from './panels.js'
import { createSampling } from './sampling.js'

/** The header's facts change rarely (a reboot, new firmware): re-read this often while live. */
const INFO_REFRESH_MS = 60_000

/**
 * @param {HTMLElement} root the #dashboard grid
 * @param {{ api: ReturnType<import('./api.js').createApi> }} options
 */
export function createHostView(root, { api }) {
  const infoRoot = document.createElement('header')
  infoRoot.id = 'host-info'
  infoRoot.className = 'host-info panel-wide'
  infoRoot.setAttribute('aria-label', 'Host')
  root.append(infoRoot)
  const info = createHostInfo(infoRoot, { api })
  /** The header's host and when it was read; 0 after a reset, so the next load reads it. */
  const infoState = { host: null, loadedAt: 0 }

  /** Panel id → { panel, chart, error element, loaded: whether the chart shows data for this view } */
  const views = new Map()
  for (const panel of PANELS) {
    const section = document.createElement('section')
    section.className = panel.wide ? 'panel panel-wide' : 'panel'
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
    root.append(section)
    const chart = createChart(body, panel.chart)
    chart.reset('loading…')
    // The panel's answers, kept current by the live stream between loads (live-series.js).
    const buffers = panel.queries.map((q) => createSeriesBuffer(q))
    views.set(panel.id, { panel, chart, error, loaded: false, buffers })
  }

  const metricsRoot = document.createElement('section')
  metricsRoot.id = 'host-metrics'
  metricsRoot.className = 'panel panel-wide metrics'
  root.append(metricsRoot)
  const metrics = createMetricsSection(metricsRoot, { api })

  const samplingRoot = document.createElement('section')
  samplingRoot.id = 'host-sampling'
  samplingRoot.className = 'panel panel-wide'
  root.append(samplingRoot)
  const sampling = createSampling(samplingRoot, { api })

  /** What the newest load was for: live messages are shaped with its options, trimmed to its range. */
  let shown = { includeVirtual: false }

  async function loadPanel(view, { host, from, to, signal }) {
    const points = view.chart.width() || 600
    return Promise.all(
      view.panel.queries.map((q) => api.series({ ...q, host, from, to, points }, { signal })),
    )
  }

  function drawPanel(view) {
    const responses = view.buffers.map((b) => b.response())
    view.chart.update(view.panel.build(responses, { includeVirtual: shown.includeVirtual }))
  }

  return {
    /**
     * Every panel's frame for one host and range, settled one by one so a failing query costs only its
     * own panel; the header's facts when due, the metric list when due and every open metric chart.
     */
    async load(query) {
      sampling.showHost(query.host)
      const entries = [...views.values()]
      const infoDue = query.host !== infoState.host || Date.now() - infoState.loadedAt >= INFO_REFRESH_MS
      const [results, facts, families] = await Promise.all([
        Promise.allSettled(entries.map((view) => loadPanel(view, query))),
        // Facts that cannot be read are left out: the header never shows an error.
        infoDue ? info.load(query).catch(() => null) : null,
        metrics.load(query),
      ])
      return {
        host: query.host,
        panels: results.map((result, i) => ({ view: entries[i], result })),
        facts,
        families,
        includeVirtual: query.includeVirtual,
      }
    },

    /** While the stream is up: the header's facts and the metric list when due, no chart data. */
    async loadMeta(query) {
      const infoDue = query.host !== infoState.host || Date.now() - infoState.loadedAt >= INFO_REFRESH_MS
      const [facts, families] = await Promise.all([
        infoDue ? info.load(query).catch(() => null) : null,
        metrics.load(query, { charts: false }),
      ])
      return { host: query.host, panels: [], facts, families, includeVirtual: query.includeVirtual }
    },

    /**
     * One live message of this host: every loaded panel and open metric chart takes its points, drops
     * those before `fromMs` and is drawn again when something changed.
     */
    applyLive(message, { fromMs }) {
      for (const view of views.values()) {
        if (!view.loaded) continue
        let changed = false
        for (const buffer of view.buffers) {
          if (buffer.add(message)) changed = true
          if (buffer.trim(fromMs / 1000)) changed = true
        }
        if (changed) drawPanel(view)
      }
      metrics.applyLive(message, { fromMs })
    },

    /** Draws what `load` gave; returns the panels' errors (the metric list's and its charts' too). */
    show(loaded) {
      if (loaded.facts) {
        info.show(loaded.facts)
        infoState.host = loaded.host
        infoState.loadedAt = Date.now()
      }
      const failures = []
      for (const { view, result } of loaded.panels) {
        if (result.status === 'fulfilled') {
          view.error.hidden = true
          shown = { includeVirtual: loaded.includeVirtual }
          result.value.forEach((response, i) => view.buffers[i]?.load(response))
          drawPanel(view)
          view.loaded = true
        } else {
          // A chart that did load keeps its last picture under the error; one that never did says so.
          failures.push(result.reason)
          view.error.textContent =
            result.reason instanceof Error ? result.reason.message : String(result.reason)
          view.error.hidden = false
          if (!view.loaded) view.chart.reset('no data')
        }
      }
      failures.push(...metrics.show(loaded.families))
      return failures
    },

    /** Charts a refresh draws, for the status line: the panels, the metric list and its open charts. */
    get panelCount() {
      return views.size + metrics.count
    },

    /**
     * Host, range or view changed: every chart waits for the next load. `sameHost` (a new range) keeps
     * the header and the metric list, open groups and charts included, until they are read again;
     * otherwise they go at once, since they describe another host.
     */
    reset(message = 'loading…', { sameHost = false } = {}) {
      for (const view of views.values()) {
        view.chart.reset(message)
        view.loaded = false
        view.error.hidden = true
      }
      infoState.loadedAt = 0
      if (!sameHost) {
        info.reset()
        infoState.host = null
        sampling.reset()
      }
      metrics.reset(message, { sameHost })
    },

    restyle() {
      for (const view of views.values()) view.chart.restyle()
      metrics.restyle()
    },
  }
}
