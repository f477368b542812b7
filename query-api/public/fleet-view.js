// The fleet view: a filter box and the ranked host table, fed by /api/fleet.

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
      table.update(response)
      renderCount()
    },

    /** Keeps the last table (it is still the best picture there is) under the error. */
    showError(message) {
      error.textContent = message
      error.hidden = false
    },

    reset(message = 'loading…') {
      error.hidden = true
      table.reset(message)
      count.textContent = ''
    },
  }
}
