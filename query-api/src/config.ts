import { readKeysRefreshMs } from '#platform/auth/authenticator.ts'
import { ConfigReader, type Env } from '#platform/config.ts'
import { readTlsFiles, type TlsFiles } from '#platform/tls.ts'
import { parsePipelineTargets, type PipelineTarget } from './pipeline/targets.ts'
import { readRetention } from '#schemas/clickhouse/retention.ts'
import { DEFAULT_CHROMIUM_PATH, isExecutable } from './report/pdf.ts'
import type { ReportSettings } from './routes/reports.ts'

export interface QueryApiConfig {
  host: string
  port: number
  /** Most points one series may return. */
  maxPoints: number
  /** How often API keys are re-read: the bound on how long a revocation takes here. */
  keysRefreshMs: number
  /** GET /api/live: bytes a slow client may leave unread before it is dropped, and streams per tenant. */
  liveMaxBufferedBytes: number
  liveMaxStreamsPerTenant: number
  /** The Prometheus API: time limit per query, bucket rows one query may read, answer cache life. */
  queryTimeoutMs: number
  queryMaxBuckets: number
  queryCacheTtlMs: number
  /** Requests per second per API key, and the burst as seconds of that rate. */
  rateLimitPerKey: number
  rateLimitBurstS: number
  /** POST /api/v1/sql: rows returned at most, time and memory limits of one query. */
  sqlMaxRows: number
  sqlTimeoutS: number
  sqlMaxMemoryBytes: number
  /** SQL queries one tenant may run at once in this process (QUERY_SQL_MAX_CONCURRENT). */
  sqlMaxConcurrent: number
  tls: TlsFiles | undefined
  /** GET /api/v1/pipeline: the components whose /metrics it reads, and how long each may take. */
  pipelineTargets: readonly PipelineTarget[]
  pipelineTimeoutMs: number
  /** Reports (routes/reports.ts): the browser for PDFs, jobs per tenant, result life, retention. */
  reports: ReportSettings
}

export function readQueryApiConfig(env: Env): Readonly<QueryApiConfig> {
  const r = new ConfigReader(env)
  return r.done({
    host: r.string('HOST', '127.0.0.1'),
    port: r.port('PORT', 8080),
    maxPoints: r.int('QUERY_MAX_POINTS', 11_000, { min: 10, max: 100_000 }),
    keysRefreshMs: readKeysRefreshMs(r),
    liveMaxBufferedBytes: r.int('QUERY_LIVE_MAX_BUFFERED_BYTES', 1024 * 1024, {
      min: 16 * 1024,
      max: 256 * 1024 * 1024,
    }),
    liveMaxStreamsPerTenant: r.int('QUERY_LIVE_MAX_STREAMS_PER_TENANT', 100, { min: 1, max: 100_000 }),
    queryTimeoutMs: r.int('QUERY_TIMEOUT_MS', 30_000, { min: 100, max: 3_600_000 }),
    queryMaxBuckets: r.int('QUERY_MAX_BUCKETS', 2_000_000, { min: 1_000, max: 100_000_000 }),
    queryCacheTtlMs: r.int('QUERY_CACHE_TTL_MS', 10_000, { min: 0, max: 3_600_000 }),
    rateLimitPerKey: r.int('QUERY_RATE_LIMIT_PER_KEY', 100, { min: 1, max: 1_000_000 }),
    rateLimitBurstS: r.int('QUERY_RATE_LIMIT_BURST_S', 5, { min: 1, max: 3600 }),
    sqlMaxRows: r.int('QUERY_SQL_MAX_ROWS', 10_000, { min: 1, max: 10_000_000 }),
    sqlTimeoutS: r.int('QUERY_SQL_TIMEOUT_S', 30, { min: 1, max: 3600 }),
    sqlMaxConcurrent: r.int('QUERY_SQL_MAX_CONCURRENT', 2, { min: 1, max: 64 }),
    sqlMaxMemoryBytes: r.int('QUERY_SQL_MAX_MEMORY_BYTES', 1024 ** 3, {
      min: 16 * 1024 ** 2,
      max: 1024 ** 4,
    }),
    tls: readTlsFiles(r),
    pipelineTargets: pipelineTargetsOf(r, env),
    pipelineTimeoutMs: r.int('QUERY_PIPELINE_TIMEOUT_MS', 2_000, { min: 100, max: 30_000 }),
    reports: readReportSettings(r),
  })
}

function pipelineTargetsOf(r: ConfigReader, env: Env): PipelineTarget[] {
  const { targets, problems } = parsePipelineTargets(env.QUERY_PIPELINE_TARGETS)
  for (const problem of problems) r.problem(problem)
  return targets
}

/**
 * A browser named in REPORT_CHROMIUM_PATH must be there; without the setting, Debian's chromium is
 * used when installed and PDF reports answer 503 when it is not, so an installation without a
 * browser still serves HTML reports. The retention is the processors' (the same variables), so a
 * report knows which stored resolution still covers its window.
 */
function readReportSettings(r: ConfigReader): ReportSettings {
  const configured = r.string('REPORT_CHROMIUM_PATH')
  if (configured !== undefined && !isExecutable(configured))
    r.problem(`REPORT_CHROMIUM_PATH=${configured} is not an executable file`)
  const retention = readRetention(r)
  return {
    chromiumPath: configured ?? (isExecutable(DEFAULT_CHROMIUM_PATH) ? DEFAULT_CHROMIUM_PATH : undefined),
    maxConcurrentPerTenant: r.int('REPORT_MAX_CONCURRENT', 2, { min: 1, max: 64 }),
    resultTtlMs: r.int('REPORT_RESULT_TTL_S', 600, { min: 10, max: 86_400 }) * 1000,
    retention: {
      rawDays: retention.rawTtlDays,
      tier10sDays: retention.tier10sTtlDays,
      tier1mDays: retention.tier1mTtlDays,
      tier1hDays: retention.tier1hTtlDays,
    },
    points: r.int('REPORT_POINTS', 1_500, { min: 10, max: 100_000 }),
  }
}
