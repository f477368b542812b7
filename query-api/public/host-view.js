// The host view: one chart per panel of panels.js, loaded together for one host and time range.

import { createChart } from './charts.js'
import { PANELS } from './panels.js'

/**
 * @param {HTMLElement} root the #dashboard grid
 * @param {{ api: ReturnType<import('./api.js').createApi> }} options
 */
export function createHostView(root, { api }) {
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
    views.set(panel.id, { panel, chart, error, loaded: false })
  }

  async function loadPanel(view, { host, from, to, signal, includeVirtual }) {
    const points = view.chart.width() || 600
    const responses = await Promise.all(
      view.panel.queries.map((q) => api.series({ ...q, host, from, to, points }, { signal })),
    )
    return view.panel.build(responses, { includeVirtual })
  }

  return {
    /**
     * Every panel's frame for one host and range, settled one by one so a failing query costs only its
     * own panel.
     */
    async load(query) {
      const entries = [...views.values()]
      const results = await Promise.allSettled(entries.map((view) => loadPanel(view, query)))
      return results.map((result, i) => ({ view: entries[i], result }))
    },

    /** Draws what `load` gave; returns the panels' errors. */
    show(loaded) {
      const failures = []
      for (const { view, result } of loaded) {
        if (result.status === 'fulfilled') {
          view.error.hidden = true
          view.chart.update(result.value)
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
      return failures
    },

    get panelCount() {
      return views.size
    },

    reset(message = 'loading…') {
      for (const view of views.values()) {
        view.chart.reset(message)
        view.loaded = false
        view.error.hidden = true
      }
    },

    restyle() {
      for (const view of views.values()) view.chart.restyle()
    },
  }
}
