import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import { SERIES_TABLE } from '#schemas/clickhouse/ddl.ts'
import type { Authenticator } from '#platform/auth/authenticator.ts'
import type { Logger } from '#platform/logger.ts'
import { principalOf } from '../auth.ts'
import { QueryApiError } from '../errors.ts'
import { queryHosts } from '../series-query.ts'
import { collectFleet, collectHost } from '../report/collect.ts'
import { renderFleetReport, renderHostReport } from '../report/html.ts'
import { ReportJobs, type ReportFile } from '../report/jobs.ts'
import { htmlToPdf, isExecutable } from '../report/pdf.ts'
import { planWindow, type Retention } from '../report/window.ts'

export interface ReportSettings {
  /** Headless Chromium for PDFs; undefined: PDF requests answer 503. */
  chromiumPath: string | undefined
  maxConcurrentPerTenant: number
  resultTtlMs: number
  retention: Retention
  /** Steps a host report reads per family (at most QUERY_MAX_POINTS). */
  points: number
}

export interface ReportRouteDeps {
  clickhouse: ClickHouseClient
  database: string
  keys: Authenticator
  logger: Logger
  settings: ReportSettings
}

interface ReportRequest {
  kind: 'host' | 'fleet'
  host: string | undefined
  fromMs: number
  toMs: number
  format: 'html' | 'pdf'
}

/** A time as epoch milliseconds or an ISO-8601 string; anything else is a 400 naming the field. */
function time(body: Record<string, unknown>, name: string): number {
  const v = body[name]
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && v !== '') {
    const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v)
    if (Number.isFinite(ms)) return ms
  }
  throw new QueryApiError('BAD_REQUEST', `${name} must be a time (epoch milliseconds or ISO-8601)`)
}

export function parseReportRequest(raw: unknown): ReportRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new QueryApiError('BAD_REQUEST', 'the body must be a JSON object')
  const body = raw as Record<string, unknown>
  const kind = body.kind ?? 'host'
  if (kind !== 'host' && kind !== 'fleet')
    throw new QueryApiError('BAD_REQUEST', 'kind must be host or fleet')
  const format = body.format ?? 'html'
  if (format !== 'html' && format !== 'pdf')
    throw new QueryApiError('BAD_REQUEST', 'format must be html or pdf')
  let host: string | undefined
  if (kind === 'host') {
    if (typeof body.host !== 'string' || body.host === '')
      throw new QueryApiError('BAD_REQUEST', 'host is required for a host report')
    if (body.host.length > 512) throw new QueryApiError('BAD_REQUEST', 'host is too long')
    host = body.host
  }
  return { kind, host, fromMs: time(body, 'from'), toMs: time(body, 'to'), format }
}

/** A file name from user data: what is not a plain character becomes `_`. */
function fileSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'host'
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace(/[-:]/g, '')
}

/**
 * The host a report is for, by id or, failing that, by the name its agent sends; a host of another
 * tenant is not found, exactly as one that never reported. Hosts silent longer than the sample log
 * is kept are found by id in the series table, which keeps as long as the longest tier.
 */
async function resolveHost(
  deps: ReportRouteDeps,
  tenant: string,
  host: string,
): Promise<{ id: string; hostname: string }> {
  const hosts = await queryHosts(deps.clickhouse, deps.database, tenant)
  const byId = hosts.find((h) => h.host_id === host)
  if (byId) return { id: byId.host_id, hostname: byId.hostname }
  const byName = hosts.filter((h) => h.hostname === host)
  if (byName.length === 1 && byName[0]) return { id: byName[0].host_id, hostname: byName[0].hostname }
  if (byName.length > 1)
    throw new QueryApiError(
      'BAD_REQUEST',
      `${JSON.stringify(host)} names ${String(byName.length)} hosts: give the host id`,
    )
  let known: unknown[]
  try {
    const rs = await deps.clickhouse.query({
      query: `SELECT 1 FROM ${deps.database}.${SERIES_TABLE} WHERE tenant = {tenant:String} AND host = {host:String} LIMIT 1`,
      query_params: { tenant, host },
      format: 'JSONEachRow',
    })
    known = await rs.json()
  } catch (err) {
    throw new QueryApiError('BACKEND', `host lookup failed: ${String(err)}`, { cause: err })
  }
  if (known.length === 0) throw new QueryApiError('NOT_FOUND', `unknown host ${JSON.stringify(host)}`)
  return { id: host, hostname: '' }
}

/**
 * `POST /api/v1/reports` starts a report (202 and its id), `GET /api/v1/reports/:id` its state and
 * progress, `GET /api/v1/reports/:id/content` the file. Everything is checked before any work starts;
 * the tenant is the key's, and a job is found only under the tenant that started it.
 */
export function reportRoutes(app: FastifyInstance, deps: ReportRouteDeps): ReportJobs {
  const { settings } = deps
  const jobs = new ReportJobs({
    maxRunningPerTenant: settings.maxConcurrentPerTenant,
    resultTtlMs: settings.resultTtlMs,
    describe: (err) => {
      if (err instanceof QueryApiError && err.code !== 'BACKEND') return err.message
      deps.logger.error({ err }, 'report failed')
      return err instanceof QueryApiError
        ? 'the database failed while reading the report; retry'
        : 'internal error'
    },
  })

  app.post('/api/v1/reports', async (req, reply) => {
    const { tenant } = await principalOf(req, deps.keys, 'read')
    const r = parseReportRequest(req.body)
    if (r.format === 'pdf' && (settings.chromiumPath === undefined || !isExecutable(settings.chromiumPath)))
      throw new QueryApiError(
        'REPORT_UNAVAILABLE',
        'PDF reports are not available: no browser is configured (REPORT_CHROMIUM_PATH); ask for html',
      )
    const window = planWindow(r.fromMs, r.toMs, {
      nowMs: Date.now(),
      retention: settings.retention,
      maxPoints: settings.points,
    })
    const target = r.kind === 'host' ? await resolveHost(deps, tenant, r.host ?? '') : undefined
    const extra = r.format === 'pdf' ? 2 : 1
    const status = jobs.start(tenant, async (progress) => {
      let html: string
      let name: string
      let last = { done: 0, total: 1 }
      const report = (done: number, total: number, step: string): void => {
        last = { done, total }
        progress(done, total, step)
      }
      if (target) {
        const data = await collectHost(
          deps.clickhouse,
          deps.database,
          { tenant, host: target.id, hostname: target.hostname, window },
          report,
          extra,
        )
        if (data.families.every((f) => f.summary.count === 0))
          throw new QueryApiError('BAD_REQUEST', `host ${JSON.stringify(r.host)} has no data in this window`)
        html = renderHostReport(data)
        name = `report-${fileSafe(target.hostname || target.id)}-${stamp(window.fromMs)}`
      } else {
        const data = await collectFleet(deps.clickhouse, deps.database, { tenant, window }, report, extra)
        if (data.top.every((t) => t.rows.length === 0))
          throw new QueryApiError('BAD_REQUEST', 'no host has data in this window')
        html = renderFleetReport(data)
        name = `report-fleet-${stamp(window.fromMs)}`
      }
      progress(last.done + 1, last.total, r.format === 'pdf' ? 'printing the PDF' : 'done')
      if (r.format === 'html')
        return { body: Buffer.from(html), contentType: 'text/html; charset=utf-8', filename: `${name}.html` }
      const pdf = await htmlToPdf(html, settings.chromiumPath)
      return { body: pdf, contentType: 'application/pdf', filename: `${name}.pdf` } satisfies ReportFile
    })
    return reply.code(202).send(status)
  })

  app.get('/api/v1/reports/:id', async (req) => {
    const { tenant } = await principalOf(req, deps.keys, 'read')
    return jobs.get(tenant, (req.params as { id: string }).id)
  })

  app.get('/api/v1/reports/:id/content', async (req, reply) => {
    const { tenant } = await principalOf(req, deps.keys, 'read')
    const file = jobs.file(tenant, (req.params as { id: string }).id)
    return (
      reply
        .header('content-type', file.contentType)
        .header('content-disposition', `attachment; filename="${file.filename}"`)
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        // The HTML is the tenant's data; opened from this origin it must not run anything.
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
        .send(file.body)
    )
  })
  return jobs
}
