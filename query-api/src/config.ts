import { readKeysRefreshMs } from '../../platform/auth/authenticator.ts'
import { ConfigReader, type Env } from '../../platform/config.ts'
import { readTlsFiles, type TlsFiles } from '../../platform/tls.ts'

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
  })
}
