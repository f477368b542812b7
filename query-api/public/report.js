// Reports: a "Report" button in the top bar of both views. It asks for the window (the dashboard's
// current range by default) and the format, starts the report on the query API, shows its progress
// while the job runs, then offers the file to download. Nothing from the server is ever parsed as
// HTML here: every text goes in through textContent.

import { storedKey } from './auth.js'
import { currentRoute } from './router.js'

const POLL_MS = 300

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') node.textContent = v
    else if (k in node) node[k] = v
    else node.setAttribute(k, v)
  }
  node.append(...children)
  return node
}

/** `datetime-local` wants local time without a zone, to the minute. */
function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000)
  return d.toISOString().slice(0, 16)
}

function rangeMs() {
  const checked = document.querySelector('#range input[name="range"]:checked')
  return Number(checked?.value) || 900_000
}

/** The host the host view shows (the route's, or the picker's when the route names none). */
function currentHost() {
  const route = currentRoute()
  if (route.view !== 'host') return null
  return route.host || document.getElementById('host')?.value || null
}

async function call(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: { Authorization: `Bearer ${storedKey() ?? ''}`, ...(init.headers ?? {}) },
    cache: 'no-store',
  })
  if (!response.ok) {
    let message = `${path}: HTTP ${response.status}`
    try {
      const body = await response.json()
      if (typeof body.error === 'string') message = body.error
    } catch {
      // Not JSON: the status says enough.
    }
    throw new Error(message)
  }
  return response
}

function createReportDialog() {
  const title = el('h2', { id: 'report-title' })
  const from = el('input', { type: 'datetime-local', id: 'report-from', required: true })
  const to = el('input', { type: 'datetime-local', id: 'report-to', required: true })
  const format = el('select', { id: 'report-format' }, [
    el('option', { value: 'html', text: 'HTML' }),
    el('option', { value: 'pdf', text: 'PDF' }),
  ])
  const start = el('button', { type: 'submit', id: 'report-start', text: 'Make report' })
  const close = el('button', { type: 'button', id: 'report-close', text: 'Close' })
  const progress = el('progress', { id: 'report-progress', max: 1, value: 0, hidden: true })
  const step = el('span', { id: 'report-step', className: 'muted' })
  const error = el('p', { id: 'report-error', className: 'report-error', role: 'alert' })
  const download = el('a', { id: 'report-download', hidden: true })
  const form = el('form', { method: 'dialog', className: 'report-form' }, [
    title,
    el('label', {}, [el('span', { text: 'From ' }), from]),
    el('label', {}, [el('span', { text: 'To ' }), to]),
    el('label', {}, [el('span', { text: 'Format ' }), format]),
    el('div', { className: 'report-status', role: 'status' }, [progress, step]),
    error,
    download,
    el('div', { className: 'report-actions' }, [start, close]),
  ])
  const dialog = el('dialog', { id: 'report-dialog', className: 'report-dialog' }, [form])
  document.body.append(dialog)

  let running = null
  let objectUrl = null

  function reset() {
    progress.hidden = true
    progress.value = 0
    step.textContent = ''
    error.textContent = ''
    download.hidden = true
    if (objectUrl) window.URL.revokeObjectURL(objectUrl)
    objectUrl = null
  }

  async function run(body, signal) {
    const started = await (
      await call('/api/v1/reports', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).json()
    progress.hidden = false
    for (;;) {
      if (signal.aborted) return
      const status = await (await call(`/api/v1/reports/${encodeURIComponent(started.id)}`)).json()
      progress.max = Math.max(1, status.progress.total)
      progress.value = status.progress.done
      step.textContent = status.state === 'running' ? `${status.progress.step}…` : ''
      if (status.state === 'failed') throw new Error(status.error || 'the report failed')
      if (status.state === 'done') break
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
    const content = await call(`/api/v1/reports/${encodeURIComponent(started.id)}/content`)
    const name =
      /filename="([^"]+)"/.exec(content.headers.get('Content-Disposition') ?? '')?.[1] ??
      `report.${body.format}`
    objectUrl = window.URL.createObjectURL(await content.blob())
    download.href = objectUrl
    download.download = name
    download.textContent = `Download ${name}`
    download.hidden = false
    step.textContent = 'Ready.'
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (running) return
    reset()
    const host = dialog.dataset.kind === 'host' ? dialog.dataset.host : undefined
    const body = {
      kind: dialog.dataset.kind,
      ...(host && { host }),
      from: new Date(from.value).getTime(),
      to: new Date(to.value).getTime(),
      format: format.value,
    }
    const controller = new window.AbortController()
    running = controller
    start.disabled = true
    run(body, controller.signal)
      .catch((err) => {
        progress.hidden = true
        step.textContent = ''
        error.textContent = err instanceof Error ? err.message : String(err)
      })
      .finally(() => {
        if (running === controller) running = null
        start.disabled = false
      })
  })
  close.addEventListener('click', () => {
    running?.abort()
    running = null
    start.disabled = false
    dialog.close()
  })

  return {
    open() {
      const host = currentHost()
      dialog.dataset.kind = host ? 'host' : 'fleet'
      dialog.dataset.host = host ?? ''
      const hostName = host ? (document.querySelector(`#host option:checked`)?.textContent ?? host) : null
      title.textContent = host ? `Host report: ${hostName}` : 'Fleet report'
      const now = Date.now()
      // The inputs are to the minute: the window starts a minute earlier so none of it is cut.
      from.value = localInput(now - rangeMs() - 60_000)
      to.value = localInput(now + 60_000)
      if (!running) reset()
      dialog.showModal()
    },
  }
}

function install() {
  const controls = document.getElementById('controls')
  if (!controls || document.getElementById('report-open')) return
  const dialog = createReportDialog()
  const button = el('button', {
    type: 'button',
    id: 'report-open',
    className: 'report-open',
    title: 'A report of this host (or of the fleet) to download, as HTML or PDF',
    text: 'Report',
  })
  button.addEventListener('click', () => dialog.open())
  controls.append(button)
  // The pipeline view shows the installation, not a host or a fleet: nothing there to report on. Its
  // section's visibility is the truth (a route may be replaced without a hashchange).
  const pipeline = document.getElementById('pipeline')
  if (pipeline) {
    const follow = () => {
      button.hidden = !pipeline.hidden
    }
    follow()
    new window.MutationObserver(follow).observe(pipeline, { attributes: true, attributeFilter: ['hidden'] })
  }
}

install()
