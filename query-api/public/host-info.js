// The host view's header: what the host is (OS, kernel, CPU, hardware), from node_exporter's info
// metrics. Whatever of them the host does not send is simply not shown.

/** The info metrics read, in the order of `hostFacts`'s argument. */
export const INFO_METRICS = ['node_uname_info', 'node_os_info', 'node_cpu_info', 'node_dmi_info']

/** Points per info series: enough to tell which label set is the newest one. */
const INFO_POINTS = 30

/** The header looks back at least this far: info metrics are sent every minute or less often. */
export const INFO_LOOKBACK_MS = 3_600_000

/** DMI placeholders firmware leaves in unset fields; showing them would say nothing. */
const DMI_PLACEHOLDER =
  /^(to be filled by o\.?e\.?m\.?|default string|system (product name|manufacturer)|not specified|not applicable|none|unknown|0+|o\.?e\.?m\.?)$/i

/**
 * The label sets of a response that carry its newest value: an info metric whose labels changed in
 * the range (a reboot into a new kernel) has an old and a new series, and only the new one is current.
 */
export function currentLabels(response) {
  let newest = -1
  const last = response.series.map((s) => {
    for (let i = s.values.length - 1; i >= 0; i--) if (s.values[i] != null) return i
    return -1
  })
  for (const i of last) newest = Math.max(newest, i)
  if (newest < 0) return []
  return response.series.filter((_s, k) => last[k] === newest).map((s) => s.labels)
}

function clean(value) {
  return typeof value === 'string' ? value.trim() : ''
}

/**
 * Header facts from the four info metrics' /api/series responses (any of them may be missing or
 * empty): `[{ id, term, value }]`, only those the host reports.
 */
export function hostFacts({ uname, os, cpu, dmi }) {
  const facts = []
  const add = (id, term, value) => {
    if (value) facts.push({ id, term, value })
  }
  const osLabels = os ? currentLabels(os)[0] : undefined
  if (osLabels) {
    const pretty = clean(osLabels.pretty_name)
    add('os', 'OS', pretty || [clean(osLabels.name), clean(osLabels.version)].filter(Boolean).join(' '))
  }
  const unameLabels = uname ? currentLabels(uname)[0] : undefined
  if (unameLabels) {
    add('kernel', 'Kernel', clean(unameLabels.release))
    add('arch', 'Arch', clean(unameLabels.machine))
  }
  const cpus = cpu ? currentLabels(cpu) : []
  if (cpus.length > 0) {
    const ids = new Set(cpus.map((l, i) => clean(l.cpu) || `#${i}`))
    const models = [...new Set(cpus.map((l) => clean(l.model_name)).filter(Boolean))]
    const count = `${ids.size} CPU${ids.size === 1 ? '' : 's'}`
    add('cpu', 'CPU', models.length > 0 ? `${count} · ${models.join(' + ')}` : count)
  }
  const dmiLabels = dmi ? currentLabels(dmi)[0] : undefined
  if (dmiLabels) {
    const parts = [clean(dmiLabels.system_vendor), clean(dmiLabels.product_name)].filter(
      (p) => p && !DMI_PLACEHOLDER.test(p),
    )
    add('hardware', 'Hardware', parts.join(' '))
  }
  if (unameLabels) add('nodename', 'Node name', clean(unameLabels.nodename))
  return facts
}

/**
 * @param {HTMLElement} root the header element, first in the host view's grid
 * @param {{ api: ReturnType<import('./api.js').createApi> }} options
 */
export function createHostInfo(root, { api }) {
  const list = document.createElement('dl')
  list.className = 'host-facts'
  root.append(list)
  root.hidden = true

  return {
    /** The four info metrics over the range, looking back an hour at least; failures count as absent. */
    async load({ host, from, to, signal }) {
      const start = Math.min(from, to - INFO_LOOKBACK_MS)
      const responses = await Promise.all(
        INFO_METRICS.map((metric) =>
          api
            .series({ host, metric, fn: 'raw', from: start, to, points: INFO_POINTS }, { signal })
            .catch((err) => {
              // Abort and sign-out travel on; anything else just leaves that fact out.
              if (err?.name === 'AbortError' || err?.unauthorized) throw err
              return null
            }),
        ),
      )
      const [uname, os, cpu, dmi] = responses
      return hostFacts({ uname, os, cpu, dmi })
    },

    /** Shows the facts as text; no fact at all hides the header. */
    show(facts) {
      const items = facts.map((fact) => {
        const item = document.createElement('div')
        item.className = 'host-fact'
        item.dataset.fact = fact.id
        const term = document.createElement('dt')
        term.textContent = fact.term
        const value = document.createElement('dd')
        value.textContent = fact.value
        value.title = fact.value
        item.append(term, value)
        return item
      })
      list.replaceChildren(...items)
      root.hidden = items.length === 0
    },

    reset() {
      list.replaceChildren()
      root.hidden = true
    },
  }
}
