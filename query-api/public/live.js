// The dashboard's one push connection: GET /api/live (Server-Sent Events) read with fetch, because the
// key goes in the Authorization header and EventSource cannot send one. Reconnects with back-off and
// reports its state, so the page can fall back to polling while the stream is away.

/** Back-off between attempts: quick after a dropped stream, up to this when the route keeps failing. */
const RETRY_MIN_MS = 1_000
const RETRY_MAX_MS = 15_000
/**
 * The server writes a comment every 15 s (routes/live.ts); silence for this long means the connection
 * died without closing (a sleeping laptop, a proxy), so it is dropped and opened again.
 */
const SILENCE_MS = 45_000
/**
 * A stream the server ends this soon after it opened, this many times in a row, counts as failing
 * (the server drops a client too slow for its events): the page polls instead of re-opening and
 * back-filling in a loop, and the stream is retried with back-off.
 */
const QUICK_CLOSE_MS = 10_000
const QUICK_CLOSES = 3

/**
 * An incremental SSE parser: feed it text as it arrives (in any pieces), it calls `onData` with the
 * `data` of each complete event (lines joined with "\n"); comments and other fields are skipped.
 * @param {(data: string) => void} onData
 */
export function createSseParser(onData) {
  let buffered = ''
  let data = []
  const line = (text) => {
    if (text === '') {
      if (data.length > 0) onData(data.join('\n'))
      data = []
      return
    }
    if (text.startsWith(':')) return
    const colon = text.indexOf(':')
    const field = colon < 0 ? text : text.slice(0, colon)
    if (field !== 'data') return
    let value = colon < 0 ? '' : text.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    data.push(value)
  }
  return {
    push(text) {
      buffered += text
      let start = 0
      for (;;) {
        const lf = buffered.indexOf('\n', start)
        const cr = buffered.indexOf('\r', start)
        let end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr)
        if (end < 0) break
        // A CR as the last character may be the first half of CRLF: wait for the next piece.
        if (end === cr && end === buffered.length - 1) break
        line(buffered.slice(start, end))
        start = end + (buffered[end] === '\r' && buffered[end + 1] === '\n' ? 2 : 1)
      }
      buffered = buffered.slice(start)
    },
  }
}

/**
 * One live message as the page uses it: `{ host, points, rates }` with every tuple checked, or null
 * for anything else (a newer server's extra fields are kept out of harm's way by ignoring them).
 */
export function parseLiveMessage(text) {
  let body
  try {
    body = JSON.parse(text)
  } catch {
    return null
  }
  if (!body || typeof body.host !== 'string') return null
  const tuples = (list) =>
    Array.isArray(list)
      ? list.filter(
          (p) =>
            Array.isArray(p) &&
            typeof p[0] === 'string' &&
            typeof p[1] === 'string' &&
            Number.isFinite(p[2]) &&
            Number.isFinite(p[3]),
        )
      : []
  return { host: body.host, points: tuples(body.points), rates: tuples(body.rates) }
}

/** The delay before attempt `failures + 1`: doubling from RETRY_MIN_MS, capped. */
export function retryDelay(failures) {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, failures - 1))
}

/**
 * @param {{
 *   getKey: () => string | null,
 *   onMessage: (message: { host: string, points: any[], rates: any[] }) => void,
 *   onOpen: () => void,
 *   onState: (state: { state: 'idle'|'connecting'|'open'|'down', reason?: string, status?: number }) => void,
 *   onUnauthorized: () => void,
 *   baseUrl?: string,
 * }} options
 */
export function createLiveStream({ getKey, onMessage, onOpen, onState, onUnauthorized, baseUrl = '' }) {
  /** The wanted parameters (null: closed), the running attempt and how many failed in a row. */
  let wanted = null
  let current = null
  let failures = 0
  let quickCloses = 0
  let retryTimer = null

  function report(state, extra = {}) {
    onState({ state, ...extra })
  }

  function stopCurrent() {
    if (retryTimer) clearTimeout(retryTimer)
    retryTimer = null
    current?.controller.abort()
    current = null
  }

  function retry(reason, status) {
    failures++
    report('down', { reason, status })
    const attempt = current
    retryTimer = setTimeout(() => {
      retryTimer = null
      if (current === attempt) connect()
    }, retryDelay(failures))
  }

  async function connect() {
    const params = wanted
    if (!params) return
    const controller = new window.AbortController()
    const attempt = { controller, params }
    current = attempt
    if (failures === 0) report('connecting')
    const query = new URLSearchParams(params).toString()
    let silence = null
    const watch = () => {
      if (silence) clearTimeout(silence)
      silence = setTimeout(() => controller.abort(new Error('silent')), SILENCE_MS)
    }
    try {
      watch()
      const response = await fetch(`${baseUrl}/api/live${query ? `?${query}` : ''}`, {
        headers: { Authorization: `Bearer ${getKey() ?? ''}`, Accept: 'text/event-stream' },
        signal: controller.signal,
        cache: 'no-store',
      })
      if (current !== attempt) return
      if (response.status === 401) {
        clearTimeout(silence)
        stopCurrent()
        wanted = null
        onUnauthorized()
        return
      }
      if (!response.ok || !response.body) {
        const body = await response.json().catch(() => null)
        const message = typeof body?.error === 'string' ? body.error : `HTTP ${response.status}`
        clearTimeout(silence)
        if (current === attempt) retry(message, response.status)
        return
      }
      failures = 0
      const openedAt = Date.now()
      report('open')
      onOpen()
      const reader = response.body.getReader()
      const decoder = new window.TextDecoder()
      const parser = createSseParser((data) => {
        const message = parseLiveMessage(data)
        if (message && current === attempt) onMessage(message)
      })
      for (;;) {
        const { value, done } = await reader.read()
        if (current !== attempt) return
        if (done) break
        watch()
        parser.push(decoder.decode(value, { stream: true }))
      }
      clearTimeout(silence)
      quickCloses = Date.now() - openedAt < QUICK_CLOSE_MS ? quickCloses + 1 : 0
      if (quickCloses >= QUICK_CLOSES) {
        failures = quickCloses - QUICK_CLOSES
        retry('the server keeps closing it', 0)
        return
      }
      // The server ended the stream (a restart, a slow client dropped): open it again at once.
      current = null
      void connect()
    } catch (err) {
      clearTimeout(silence)
      if (current !== attempt) return
      const silent = controller.signal.aborted
      retry(silent ? 'no data for 45 s' : `server unreachable (${err?.message ?? err})`, 0)
    }
  }

  return {
    /**
     * Opens the stream for these query parameters (`{ host }`, `{ metric }` …), re-opening it when they
     * differ from the open one's; the same parameters leave a working stream alone.
     */
    open(params) {
      const same = wanted && JSON.stringify(wanted) === JSON.stringify(params)
      wanted = params
      if (same && current) return
      stopCurrent()
      failures = 0
      quickCloses = 0
      void connect()
    },

    close() {
      wanted = null
      stopCurrent()
      failures = 0
      report('idle')
    },

    /** Drops the open stream and connects again now (a gap the page wants back-filled). */
    reconnect() {
      if (!wanted) return
      stopCurrent()
      void connect()
    },
  }
}
