// Thin client for the query API: adds the bearer key, turns every failure into an ApiError.

const REQUEST_TIMEOUT_MS = 10_000

export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {{ status: number, code: string }} details status 0 means the request never got an answer
   */
  constructor(message, { status, code }) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }

  get unauthorized() {
    return this.status === 401
  }
}

/**
 * @param {{ getKey: () => string | null, baseUrl?: string }} options
 */
export function createApi({ getKey, baseUrl = '' }) {
  async function request(path, params, { key = getKey(), signal } = {}) {
    const query = params ? `?${new URLSearchParams(params).toString()}` : ''
    const controller = new window.AbortController()
    const timer = setTimeout(() => {
      controller.abort()
    }, REQUEST_TIMEOUT_MS)
    const onAbort = () => {
      controller.abort()
    }
    signal?.addEventListener('abort', onAbort)

    let response
    try {
      response = await fetch(`${baseUrl}${path}${query}`, {
        headers: { Authorization: `Bearer ${key ?? ''}`, Accept: 'application/json' },
        signal: controller.signal,
        cache: 'no-store',
      })
    } catch (err) {
      if (signal?.aborted) throw err
      const timedOut = controller.signal.aborted
      throw new ApiError(
        timedOut ? `${path}: no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : `${path}: server unreachable`,
        {
          status: 0,
          code: timedOut ? 'timeout' : 'network',
        },
      )
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }

    const body = await readJson(response)
    if (!response.ok) {
      const message = typeof body?.error === 'string' ? body.error : `HTTP ${response.status}`
      // The Prometheus routes name their error `errorType` (bad_data, execution …), the others `code`.
      const code =
        typeof body?.code === 'string'
          ? body.code
          : typeof body?.errorType === 'string'
            ? body.errorType
            : `http_${response.status}`
      throw new ApiError(`${path}: ${message}`, { status: response.status, code })
    }
    if (body === undefined) {
      throw new ApiError(`${path}: response is not JSON`, { status: response.status, code: 'bad_response' })
    }
    return body
  }

  return {
    /** Validates a key; pass `key` to test one that is not stored yet. */
    whoami(options) {
      return request('/api/whoami', null, options)
    },

    async hosts(options) {
      const body = await request('/api/hosts', null, options)
      return Array.isArray(body.hosts) ? body.hosts : []
    },

    /**
     * @param {{ host: string, metric: string, fn?: 'raw'|'rate', sumBy?: string[], from: number, to: number, points: number }} q
     */
    async series(q, options) {
      const params = {
        host: q.host,
        metric: q.metric,
        fn: q.fn ?? 'raw',
        from: String(Math.round(q.from)),
        to: String(Math.round(q.to)),
        points: String(Math.max(2, Math.round(q.points))),
      }
      if (q.sumBy?.length) params.sum_by = q.sumBy.join(',')
      const body = await request('/api/series', params, options)
      return {
        timestamps: Array.isArray(body.timestamps) ? body.timestamps : [],
        series: Array.isArray(body.series) ? body.series.map(normaliseSeries) : [],
        stepMs: typeof body.step_ms === 'number' ? body.step_ms : null,
      }
    },

    /**
     * Prometheus API: the names of the metrics with a series matching the selector `match` in [from, to]
     * (ms; the catalogue is hourly, so the range widens to whole hours).
     * @param {{ match: string, from: number, to: number }} q
     */
    async metricNames(q, options) {
      const params = [
        ['match[]', q.match],
        ['start', (q.from / 1000).toFixed(3)],
        ['end', (q.to / 1000).toFixed(3)],
      ]
      const body = await request('/api/v1/label/__name__/values', params, options)
      return Array.isArray(body.data) ? body.data.filter((n) => typeof n === 'string') : []
    },

    /**
     * Prometheus API: TYPE and HELP of the tenant's metric names, as node_exporter declares them.
     * @returns {Promise<Map<string, { type: string, help: string }>>}
     */
    async metadata(options) {
      const body = await request('/api/v1/metadata', null, options)
      const out = new Map()
      const data = body.data && typeof body.data === 'object' ? body.data : {}
      for (const [name, entries] of Object.entries(data)) {
        const entry = Array.isArray(entries) ? entries[0] : undefined
        if (!entry) continue
        out.set(name, {
          type: typeof entry.type === 'string' ? entry.type : 'unknown',
          help: typeof entry.help === 'string' ? entry.help : '',
        })
      }
      return out
    },

    /**
     * Every host with its CPU, memory, disk and network load and a sparkline of each.
     * @param {{ from: number, to: number, points: number }} q
     */
    async fleet(q, options) {
      const params = {
        from: String(Math.round(q.from)),
        to: String(Math.round(q.to)),
        points: String(Math.round(q.points)),
      }
      const body = await request('/api/fleet', params, options)
      return {
        timestamps: Array.isArray(body.timestamps) ? body.timestamps : [],
        stepMs: typeof body.step_ms === 'number' ? body.step_ms : null,
        hosts: Array.isArray(body.hosts) ? body.hosts.map(normaliseFleetHost) : [],
      }
    },
  }
}

function normaliseFleetHost(h) {
  const spark = h?.spark ?? {}
  const column = (values) => (Array.isArray(values) ? values : [])
  return {
    host_id: String(h?.host_id ?? ''),
    hostname: typeof h?.hostname === 'string' ? h.hostname : '',
    last_seen_ms: typeof h?.last_seen_ms === 'number' ? h.last_seen_ms : null,
    cpu_busy: h?.cpu_busy ?? null,
    mem_used: h?.mem_used ?? null,
    disk_bytes_per_s: h?.disk_bytes_per_s ?? null,
    net_bytes_per_s: h?.net_bytes_per_s ?? null,
    spark: {
      cpu: column(spark.cpu),
      mem: column(spark.mem),
      disk: column(spark.disk),
      net: column(spark.net),
    },
  }
}

function normaliseSeries(s) {
  return { labels: s?.labels ?? {}, values: Array.isArray(s?.values) ? s.values : [] }
}

async function readJson(response) {
  try {
    return await response.json()
  } catch {
    return undefined
  }
}
