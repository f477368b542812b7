// The host view's Sampling section: the schedule in force on the host's agent(s), read from the agents
// themselves (GET /api/v1/control/schedule), and for admin keys a form that changes it for this host, a
// group or the whole tenant (POST /api/v1/control). Every text from the server goes in by textContent.

import { storedKey } from './auth.js'

/** Long enough for an agent that polls through the ingest gateway to answer. */
const WAIT_MS = 3000
const REQUEST_TIMEOUT_MS = WAIT_MS + 5000

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') node.textContent = v
    else if (k === 'dataset') Object.assign(node.dataset, v)
    else node[k] = v
  }
  node.append(...children)
  return node
}

function formatMs(ms) {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

/** One request to the control API; resolves with the JSON body, rejects with the server's own words. */
async function control(method, path, body) {
  const controller = new window.AbortController()
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS)
  let response
  try {
    response = await fetch(path, {
      method,
      headers: {
        Authorization: `Bearer ${storedKey() ?? ''}`,
        Accept: 'application/json',
        ...(body !== undefined && { 'Content-Type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: controller.signal,
      cache: 'no-store',
    })
  } catch {
    throw new Error(controller.signal.aborted ? 'no answer in time' : 'server unreachable')
  } finally {
    clearTimeout(timer)
  }
  let json
  try {
    json = await response.json()
  } catch {
    throw new Error(`HTTP ${response.status}: the answer is not JSON`)
  }
  if (!response.ok) throw new Error(typeof json?.error === 'string' ? json.error : `HTTP ${response.status}`)
  return json
}

/**
 * @param {HTMLElement} root an empty element the section fills
 * @param {{ api: { whoami: () => Promise<{ tenant: string, scopes?: string[] }> } }} options
 */
export function createSampling(root, { api }) {
  root.classList.add('sampling')
  const header = el('header', {}, [
    el('h2', { text: 'Sampling' }),
    el('span', { className: 'muted', text: 'the schedule in force on this host’s agent' }),
  ])
  const status = el('p', { className: 'muted sampling-status', role: 'status' })
  const schedules = el('div', { className: 'sampling-schedules' })
  const form = el('form', { className: 'sampling-form', hidden: true })
  const result = el('p', { className: 'sampling-result', role: 'status' })
  root.append(header, status, schedules, form, result)

  let host = null
  /** Which read is newest: an answer for a host shown earlier is dropped. */
  let generation = 0
  /** The key's tenant and whether it may change the schedule; read once per key. */
  let who = null
  let whoKey = null

  async function identity() {
    const key = storedKey()
    if (who && whoKey === key) return who
    const me = await api.whoami()
    const scopes = Array.isArray(me.scopes) ? me.scopes : []
    who = {
      tenant: me.tenant,
      canChange: scopes.includes('admin') || scopes.includes('operator'),
      // Control travels over NATS; without it every read would be a 503 the browser logs as an error.
      control: me.live !== false,
    }
    whoKey = key
    return who
  }

  // The form: target (this host, a group, the tenant), family (every one or one), interval, on/off.
  const target = el('select', { name: 'target' }, [
    el('option', { value: 'host', text: 'this host' }),
    el('option', { value: 'group', text: 'a group' }),
    el('option', { value: 'all', text: 'every host of the tenant' }),
  ])
  const group = el('input', { name: 'group', placeholder: 'group', hidden: true, spellcheck: false })
  const family = el('select', { name: 'family' }, [el('option', { value: '', text: 'every family' })])
  const interval = el('input', { name: 'interval_ms', type: 'number', min: '10', max: '300000', step: '1' })
  interval.placeholder = 'ms'
  const enabled = el('select', { name: 'enabled', hidden: true }, [
    el('option', { value: '', text: 'keep on/off' }),
    el('option', { value: 'true', text: 'enable' }),
    el('option', { value: 'false', text: 'disable' }),
  ])
  const apply = el('button', { type: 'submit', text: 'Apply' })
  form.append(
    el('label', { className: 'field' }, [el('span', { text: 'Set for ' }), target]),
    group,
    el('label', { className: 'field' }, [el('span', { text: ' family ' }), family]),
    el('label', { className: 'field' }, [el('span', { text: ' interval ' }), interval]),
    enabled,
    apply,
  )
  target.addEventListener('change', () => {
    group.hidden = target.value !== 'group'
    group.required = target.value === 'group'
  })
  family.addEventListener('change', () => {
    // "every family" takes an interval only; one family may also be turned on or off.
    enabled.hidden = family.value === ''
    if (enabled.hidden) enabled.value = ''
  })

  function showSchedules(replies) {
    const blocks = replies.map((reply) => {
      const title = `${reply.host_id} · agent ${reply.agent_id ?? '(through the gateway)'}`
      if (reply.error !== undefined)
        return el('div', { className: 'sampling-agent' }, [
          el('h3', { text: title }),
          el('p', { className: 'panel-error', text: reply.error }),
        ])
      const rows = Object.entries(reply.applied ?? {}).map(([name, s]) =>
        el('tr', { dataset: { family: name, enabled: String(s.enabled) } }, [
          el('td', { text: name }),
          el('td', { text: s.enabled ? formatMs(s.interval_ms) : 'off' }),
        ]),
      )
      return el('div', { className: 'sampling-agent' }, [
        el('h3', { text: title }),
        el('table', { className: 'sampling-table' }, [
          el('thead', { className: 'visually-hidden' }, [
            el('tr', {}, [el('th', { text: 'family' }), el('th', { text: 'interval' })]),
          ]),
          el('tbody', {}, rows),
        ]),
      ])
    })
    schedules.replaceChildren(...blocks)
    const names = Object.keys(replies.find((r) => r.applied)?.applied ?? {})
    if (names.length > 0 && family.options.length === 1)
      family.append(...names.map((n) => el('option', { value: n, text: n })))
  }

  async function read() {
    const mine = ++generation
    const forHost = host
    status.textContent = 'reading the schedule…'
    try {
      const me = await identity()
      if (!me.control) {
        form.hidden = true
        schedules.replaceChildren()
        status.textContent = 'live control needs NATS, which this installation does not run'
        return
      }
      form.hidden = !me.canChange
      const params = new URLSearchParams({ host: forHost, tenant: me.tenant, wait_ms: String(WAIT_MS) })
      const answer = await control('GET', `/api/v1/control/schedule?${params.toString()}`)
      if (mine !== generation) return
      status.textContent = `read ${answer.replies.length === 1 ? 'from 1 agent' : `from ${answer.replies.length} agents`} in ${answer.waited_ms} ms`
      showSchedules(answer.replies)
    } catch (err) {
      if (mine !== generation) return
      schedules.replaceChildren()
      status.textContent = err instanceof Error ? err.message : String(err)
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const me = await identity().catch(() => null)
    if (!me || host === null) return
    const ms = interval.value === '' ? undefined : Number(interval.value)
    const body = { tenant: me.tenant, wait_ms: WAIT_MS }
    if (target.value === 'host') body.target = { host }
    else if (target.value === 'group') body.target = { group: group.value.trim() }
    else body.target = { all: true }
    if (family.value === '') {
      if (ms !== undefined) body.interval_ms = ms
    } else {
      const spec = {}
      if (ms !== undefined) spec.interval_ms = ms
      if (enabled.value !== '') spec.enabled = enabled.value === 'true'
      body.families = { [family.value]: spec }
    }
    if (
      target.value === 'all' &&
      !window.confirm(`Change the sampling of every agent of tenant ${me.tenant}?`)
    )
      return
    apply.disabled = true
    result.textContent = 'sending…'
    result.dataset.kind = ''
    try {
      const answer = await control('POST', '/api/v1/control', body)
      const refused = answer.replies.filter((r) => r.error !== undefined)
      result.dataset.kind = refused.length > 0 ? 'error' : 'ok'
      result.textContent = [
        `applied by ${answer.replies.length - refused.length} of ${answer.replies.length} agent(s)`,
        ...refused.map((r) => `${r.host_id} (${r.agent_id ?? 'gateway'}): ${r.error}`),
      ].join('; ')
    } catch (err) {
      result.dataset.kind = 'error'
      result.textContent = err instanceof Error ? err.message : String(err)
    } finally {
      apply.disabled = false
    }
    await read()
  })

  return {
    /** The host view shows `next`: its schedule is read when the host changed, not on every refresh. */
    showHost(next) {
      if (next === host) return
      host = next
      result.textContent = ''
      void read()
    },

    /** Another host or none: nothing of the last one stays on screen. */
    reset() {
      host = null
      generation++
      schedules.replaceChildren()
      status.textContent = ''
      result.textContent = ''
    },
  }
}
