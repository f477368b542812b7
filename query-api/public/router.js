// Which view the address names, so views can be bookmarked and the back button leaves a host:
// `#host=<id>` is that host's panels, `#pipeline` the operator's pipeline view, anything else
// (`#fleet`, nothing) the fleet.

/** @typedef {{ view: 'fleet' } | { view: 'host', host: string | null } | { view: 'pipeline' }} Route */

/** @returns {Route} */
export function currentRoute() {
  if (window.location.hash === PIPELINE_HREF) return { view: 'pipeline' }
  const params = new URLSearchParams(window.location.hash.slice(1))
  const host = params.get('host')
  return host === null ? { view: 'fleet' } : { view: 'host', host: host || null }
}

export function hostHref(hostId) {
  return `#host=${encodeURIComponent(hostId)}`
}

export const FLEET_HREF = '#fleet'
export const PIPELINE_HREF = '#pipeline'

/**
 * Shows `route`. `replace` rewrites the address without a history entry or a hashchange event, for a
 * route the app settled on by itself (the most recent host when none was named).
 */
export function goTo(route, { replace = false } = {}) {
  const hash =
    route.view === 'pipeline'
      ? PIPELINE_HREF
      : route.view === 'host' && route.host
        ? hostHref(route.host)
        : FLEET_HREF
  if (window.location.hash === hash) return
  if (replace) window.history.replaceState(null, '', hash)
  else window.location.hash = hash
}

export function onRouteChange(callback) {
  window.addEventListener('hashchange', () => {
    callback(currentRoute())
  })
}
