// The fleet view: a filter box and the ranked host table, fed by /api/fleet.

import { createFleetLive } from './fleet-live.js'
import { createFleetTable } from './fleet-table.js'
import { hostHref } from './router.js'

/** Points per sparkline: about one per 2–3 px of a ~110 px canvas, and light JSON for big fleets. */
export const SPARK_POINTS = 40

/**
 * @param {HTMLElement} root the #fleet section
 * @param {{ api: ReturnType<import('./api.js').createApi>, onOpen: (hostId: string) => void }} options
 */
export function createFleetView(root, { api, onOpen }) {
  const toolbar = document.createElement('div')
  toolbar.className = 'fleet-toolbar'
  const title = document.createElement('h2')
  title.textContent = 'Fleet'
  const search = document.createElement('input')
  search.type = 'search'
  search.placeholder = 'Filter hosts'
  search.setAttribute('aria-label', 'Filter hosts by name')
  search.spellcheck = false
  const count = document.createElement('span')
  count.className = 'muted fleet-count'
  const hint = document.createElement('span')
  hint.className = 'muted fleet-hint'
  hint.textContent = 'click a header to rank by it · click a host to open it'
  toolbar.append(title, search, count, hint)

  const error = document.createElement('p')
  error.className = 'panel-error'
  error.hidden = true
  const tableRoot = document.createElement('div')
  root.append(toolbar, error, tableRoot)
  const table = createFleetTable(tableRoot, { hrefFor: hostHref, onOpen })
  // The newest answer, kept current by the live stream (fleet-live.js) until the next load.
  const live = createFleetLive()
  let loaded = false
  let frame = 0

  function draw() {
    frame = 0
    table.update(live.response())
    renderCount()
  }

  function renderCount() {
    const { shown, total } = table.counts()
    const hosts = `${total.toLocaleString()} host${total === 1 ? '' : 's'}`
    count.textContent = shown === total ? hosts : `${shown.toLocaleString()} of ${hosts}`
  }

  search.addEventListener('input', () => {
    table.setFilter(search.value)
    renderCount()
  })

  return {
    /** The fleet for a time range; nothing on screen changes until `show`. */
    load({ from, to, signal }) {
      return api.fleet({ from, to, points: SPARK_POINTS }, { signal })
    },

    show(response) {
      error.hidden = true
      live.load(response)
      loaded = true
      if (frame) window.cancelAnimationFrame(frame)
      draw()
    },

    /**
     * One live message: 'unknown' when its host is not in the table yet (the caller re-reads the
     * fleet); otherwise the table is redrawn at the next frame, however many messages came meanwhile.
     */
    applyLive(message) {
      if (!loaded) return 'none'
      const result = live.apply(message)
      if (result === 'changed' && !frame) frame = requestAnimationFrame(draw)
      return result
    },

    /** Every second: ages tick, and sparklines slide on even while no host reports. */
    tick(nowMs) {
      if (loaded) live.slide(nowMs)
      table.tick(nowMs)
    },

    /** The hosts as the table has them, newest sample times included. */
    hosts() {
      return loaded ? live.response().hosts : []
    },

    /** Keeps the last table (it is still the best picture there is) under the error. */
    showError(message) {
      error.textContent = message
      error.hidden = false
    },

    reset(message = 'loading…') {
      loaded = false
      error.hidden = true
      table.reset(message)
      count.textContent = ''
    },
  }
}
