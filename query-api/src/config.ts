import { readKeysRefreshMs } from '#platform/auth/authenticator.ts'
import { ConfigReader, settingDefaults, type Env, type Setting } from '#platform/config.ts'
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

/**
 * The query API's own settings (platform/config.ts); the shared ones (keys refresh, TLS, retention)
 * are declared where they are read.
 */
export const QUERY_API_SETTINGS = {
  host: { env: 'HOST', type: 'string', default: '127.0.0.1', meaning: "the query API's listen address" },
  port: { env: 'PORT', type: 'port', default: 8080, meaning: "the query API's port" },
  maxPoints: {
    env: 'QUERY_MAX_POINTS',
    type: 'int',
    default: 11_000,
    min: 10,
    max: 100_000,
    meaning: 'most points one series may return',
  },
  liveMaxBufferedBytes: {
    env: 'QUERY_LIVE_MAX_BUFFERED_BYTES',
    type: 'int',
    default: 1024 * 1024,
    min: 16 * 1024,
    max: 256 * 1024 * 1024,
    meaning: 'unread /api/live bytes after which a client is dropped',
  },
  liveMaxStreamsPerTenant: {
    env: 'QUERY_LIVE_MAX_STREAMS_PER_TENANT',
    type: 'int',
    default: 100,
    min: 1,
    max: 100_000,
    meaning: 'live streams per tenant, per process',
  },
  queryTimeoutMs: {
    env: 'QUERY_TIMEOUT_MS',
    type: 'int',
    default: 30_000,
    min: 100,
    max: 3_600_000,
    meaning: 'time limit of one Prometheus API query',
  },
  queryMaxBuckets: {
    env: 'QUERY_MAX_BUCKETS',
    type: 'int',
    default: 2_000_000,
    min: 1_000,
    max: 100_000_000,
    meaning: 'bucket rows one Prometheus API query may read',
  },
  queryCacheTtlMs: {
    env: 'QUERY_CACHE_TTL_MS',
    type: 'int',
    default: 10_000,
    min: 0,
    max: 3_600_000,
    meaning: 'life of a cached range answer; 0: no cache',
  },
  rateLimitPerKey: {
    env: 'QUERY_RATE_LIMIT_PER_KEY',
    type: 'int',
    default: 100,
    min: 1,
    max: 1_000_000,
    meaning: 'requests per second per API key',
  },
  rateLimitBurstS: {
    env: 'QUERY_RATE_LIMIT_BURST_S',
    type: 'int',
    default: 5,
    min: 1,
    max: 3600,
    meaning: 'burst, as seconds of that rate',
  },
  sqlMaxRows: {
    env: 'QUERY_SQL_MAX_ROWS',
    type: 'int',
    default: 10_000,
    min: 1,
    max: 10_000_000,
    meaning: 'rows POST /api/v1/sql returns at most',
  },
  sqlTimeoutS: {
    env: 'QUERY_SQL_TIMEOUT_S',
    type: 'int',
    default: 30,
    min: 1,
    max: 3600,
    meaning: 'time limit of one SQL query',
  },
  sqlMaxConcurrent: {
    env: 'QUERY_SQL_MAX_CONCURRENT',
    type: 'int',
    default: 2,
    min: 1,
    max: 64,
    meaning: 'SQL queries one tenant may run at once in a process',
  },
  sqlMaxMemoryBytes: {
    env: 'QUERY_SQL_MAX_MEMORY_BYTES',
    type: 'int',
    default: 1024 ** 3,
    min: 16 * 1024 ** 2,
    max: 1024 ** 4,
    meaning: 'memory limit of one SQL query',
  },
  pipelineTargets: {
    env: 'QUERY_PIPELINE_TARGETS',
    type: 'custom',
    meaning: 'comma-separated name=url of the /metrics pages GET /api/v1/pipeline reads',
  },
  pipelineTimeoutMs: {
    env: 'QUERY_PIPELINE_TIMEOUT_MS',
    type: 'int',
    default: 2_000,
    min: 100,
    max: 30_000,
    meaning: 'how long each of those reads may take',
  },
  reportChromiumPath: {
    env: 'REPORT_CHROMIUM_PATH',
    type: 'string',
    meaning: 'the headless Chromium that prints PDF reports',
  },
  reportMaxConcurrent: {
    env: 'REPORT_MAX_CONCURRENT',
    type: 'int',
    default: 2,
    min: 1,
    max: 64,
    meaning: 'reports one tenant may have running at once in a process',
  },
  reportResultTtlS: {
    env: 'REPORT_RESULT_TTL_S',
    type: 'int',
    default: 600,
    min: 10,
    max: 86_400,
    meaning: 'how long a finished report is kept for download',
  },
  reportPoints: {
    env: 'REPORT_POINTS',
    type: 'int',
    default: 1_500,
    min: 10,
    max: 100_000,
    meaning: 'steps a host report reads per family over its window',
  },
} as const satisfies Record<string, Setting>

/** The declared defaults, for servers built without a QueryApiConfig (tests, embedders). */
export const QUERY_API_DEFAULTS = settingDefaults(QUERY_API_SETTINGS)

const S = QUERY_API_SETTINGS

export function readQueryApiConfig(env: Env): Readonly<QueryApiConfig> {
  const r = new ConfigReader(env)
  return r.done({
    host: r.string(S.host),
    port: r.port(S.port),
    maxPoints: r.int(S.maxPoints),
    keysRefreshMs: readKeysRefreshMs(r),
    liveMaxBufferedBytes: r.int(S.liveMaxBufferedBytes),
    liveMaxStreamsPerTenant: r.int(S.liveMaxStreamsPerTenant),
    queryTimeoutMs: r.int(S.queryTimeoutMs),
    queryMaxBuckets: r.int(S.queryMaxBuckets),
    queryCacheTtlMs: r.int(S.queryCacheTtlMs),
    rateLimitPerKey: r.int(S.rateLimitPerKey),
    rateLimitBurstS: r.int(S.rateLimitBurstS),
    sqlMaxRows: r.int(S.sqlMaxRows),
    sqlTimeoutS: r.int(S.sqlTimeoutS),
    sqlMaxConcurrent: r.int(S.sqlMaxConcurrent),
    sqlMaxMemoryBytes: r.int(S.sqlMaxMemoryBytes),
    tls: readTlsFiles(r),
    pipelineTargets: pipelineTargetsOf(r, env),
    pipelineTimeoutMs: r.int(S.pipelineTimeoutMs),
    reports: readReportSettings(r),
  })
}

function pipelineTargetsOf(r: ConfigReader, env: Env): PipelineTarget[] {
  const { targets, problems } = parsePipelineTargets(env[S.pipelineTargets.env])
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
  const configured = r.string(S.reportChromiumPath)
  if (configured !== undefined && !isExecutable(configured))
    r.problem(`${S.reportChromiumPath.env}=${configured} is not an executable file`)
  const retention = readRetention(r)
  return {
    chromiumPath: configured ?? (isExecutable(DEFAULT_CHROMIUM_PATH) ? DEFAULT_CHROMIUM_PATH : undefined),
    maxConcurrentPerTenant: r.int(S.reportMaxConcurrent),
    resultTtlMs: r.int(S.reportResultTtlS) * 1000,
    retention: {
      rawDays: retention.rawTtlDays,
      tier10sDays: retention.tier10sTtlDays,
      tier1mDays: retention.tier1mTtlDays,
      tier1hDays: retention.tier1hTtlDays,
    },
    points: r.int(S.reportPoints),
  }
}
