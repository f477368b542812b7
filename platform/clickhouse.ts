import { createClient, type ClickHouseClient } from '@clickhouse/client'
import {
  ArrowInserter,
  JsonInserter,
  RowBinaryInserter,
  type ColumnarInserter,
  type InsertPath,
} from './columnar-insert.ts'
import { ConfigReader } from './config.ts'

/**
 * One code path above the connection: embedded ClickHouse (chdb, in this process) by default, a real
 * ClickHouse server over HTTP when CLICKHOUSE_URL is set. chdb binds one data directory per process,
 * so in embedded mode everything that reads or writes ClickHouse must live in the process that owns
 * the directory (see all-in-one/main.ts).
 */
export interface ClickHouseConfig {
  /** http(s)://host:port of a ClickHouse server; undefined means embedded chdb. */
  url: string | undefined
  user: string
  password: string
  database: string
  /** The user tenant SQL runs as on a server (CLICKHOUSE_SQL_USER); unset: the main user. */
  sqlUser?: string | undefined
  sqlPassword?: string | undefined
  /** chdb data directory (embedded mode only). */
  embeddedPath: string
  /**
   * chdb sessions on that directory (embedded mode only): statements in different sessions run at
   * once. Optional so that a config built by hand gets the default.
   */
  embeddedSessions?: number
  /**
   * The schema profile of schemas/clickhouse/ddl.ts: `single` (one server or chdb) or `cluster`
   * (Replicated*MergeTree `_local` tables under Distributed ones, every statement ON CLUSTER).
   * Optional so that a config built by hand means single, as an unset CLICKHOUSE_PROFILE does.
   */
  profile?: 'single' | 'cluster'
  /** The `<remote_servers>` cluster the cluster profile's DDL runs on; set only with that profile. */
  cluster?: string
  /**
   * How the processors' rows reach the engine (CLICKHOUSE_INSERT_PATH): `auto` (absent) is Arrow
   * into embedded chdb and RowBinary to a server; `json` is the fallback (platform/columnar-insert.ts).
   */
  insertPath?: 'auto' | InsertPath
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
/**
 * Enough for the processor's concurrent partitions (3) and a query or two beside them; chdb needs
 * about two running at once to keep both cores of this machine busy.
 */
const DEFAULT_EMBEDDED_SESSIONS = 4
/** A `<remote_servers>` element name or a `{macro}`; what schemas/clickhouse/ddl.ts accepts. */
const CLUSTER_NAME = /^[A-Za-z0-9_.{}-]+$/

export function readClickHouseConfig(reader: ConfigReader, dataDir: string): ClickHouseConfig {
  const database = reader.string('CLICKHOUSE_DATABASE', 'procstream')
  if (!IDENTIFIER.test(database))
    reader.problem(`CLICKHOUSE_DATABASE=${JSON.stringify(database)} is not a plain identifier`)
  const url = reader.url('CLICKHOUSE_URL', ['http:', 'https:'])
  const profile = reader.oneOf('CLICKHOUSE_PROFILE', ['single', 'cluster'] as const, 'single')
  const cluster = reader.string('CLICKHOUSE_CLUSTER')
  if (profile === 'cluster') {
    if (cluster === undefined)
      reader.problem(
        'CLICKHOUSE_CLUSTER is required with CLICKHOUSE_PROFILE=cluster: the cluster name in the servers’ <remote_servers>',
      )
    else if (!CLUSTER_NAME.test(cluster))
      reader.problem(`CLICKHOUSE_CLUSTER=${JSON.stringify(cluster)} is not a cluster name`)
    if (url === undefined)
      reader.problem('CLICKHOUSE_PROFILE=cluster needs CLICKHOUSE_URL: embedded chdb is one node')
  } else if (cluster !== undefined) {
    // Tables created by the single profile on a cluster node are plain MergeTree on that node alone,
    // and turning them into replicated, sharded ones later means copying the data: refuse the mix-up.
    reader.problem('CLICKHOUSE_CLUSTER is set but CLICKHOUSE_PROFILE is not cluster')
  }
  const sqlUser = reader.string('CLICKHOUSE_SQL_USER')
  const sqlPassword = reader.string('CLICKHOUSE_SQL_PASSWORD')
  if (sqlUser !== undefined && url === undefined)
    reader.problem('CLICKHOUSE_SQL_USER needs CLICKHOUSE_URL: embedded chdb has no users')
  if (sqlUser !== undefined && (sqlPassword ?? '').length < 16)
    reader.problem('CLICKHOUSE_SQL_PASSWORD of at least 16 characters is required with CLICKHOUSE_SQL_USER')
  return {
    url,
    user: reader.string('CLICKHOUSE_USER', 'default'),
    password: reader.string('CLICKHOUSE_PASSWORD', ''),
    sqlUser,
    sqlPassword,
    database,
    embeddedPath: `${dataDir}/clickhouse`,
    embeddedSessions: reader.int('CLICKHOUSE_EMBEDDED_SESSIONS', DEFAULT_EMBEDDED_SESSIONS, {
      min: 1,
      max: 32,
    }),
    profile,
    ...(profile === 'cluster' && { cluster }),
    insertPath: reader.oneOf(
      'CLICKHOUSE_INSERT_PATH',
      ['auto', 'arrow', 'row-binary', 'json'] as const,
      'auto',
    ),
  }
}

/** The config each client of createClickHouse was made from, for the inserter that goes with it. */
const CONFIGS = new WeakMap<ClickHouseClient, ClickHouseConfig>()
const INSERTERS = new WeakMap<ClickHouseClient, Promise<ColumnarInserter>>()

/**
 * The inserter for a client's engine (one per client, opened on first use, closed with the client):
 * Arrow on sessions of its own for embedded chdb, RowBinary through the client for a server, as the
 * client's config asks. A client made elsewhere gets the JSON fallback through itself.
 */
export function columnarInserter(client: ClickHouseClient): Promise<ColumnarInserter> {
  let inserter = INSERTERS.get(client)
  if (!inserter) {
    inserter = openInserter(client, CONFIGS.get(client))
    INSERTERS.set(client, inserter)
  }
  return inserter
}

async function openInserter(
  client: ClickHouseClient,
  config: ClickHouseConfig | undefined,
): Promise<ColumnarInserter> {
  const path = config?.insertPath ?? 'auto'
  if (config === undefined || path === 'json') return new JsonInserter(client)
  if (path === 'row-binary' || (path === 'auto' && config.url !== undefined))
    return new RowBinaryInserter(client)
  if (config.url !== undefined)
    throw new Error('CLICKHOUSE_INSERT_PATH=arrow needs embedded chdb (no CLICKHOUSE_URL)')
  return ArrowInserter.open(config.embeddedPath)
}

/** The client's close also closes its inserter (Arrow keeps chdb sessions of its own). */
function remember(client: ClickHouseClient, config: ClickHouseConfig): ClickHouseClient {
  CONFIGS.set(client, config)
  const close = client.close.bind(client)
  client.close = async () => {
    const inserter = INSERTERS.get(client)
    INSERTERS.delete(client)
    if (inserter) await (await inserter.catch(() => undefined))?.close()
    await close()
  }
  return client
}

export async function createClickHouse(config: ClickHouseConfig): Promise<ClickHouseClient> {
  if (config.url !== undefined) {
    return remember(
      createClient({
        url: config.url,
        username: config.user,
        password: config.password,
        request_timeout: 60_000,
        compression: { request: false, response: true },
      }),
      config,
    )
  }
  // Loaded lazily so processes that talk to a server never load the 500 MB engine.
  const { createChdbConnection } = await import('chdb/connection')
  const { ChdbSessionPool } = await import('./chdb-session-pool.ts')
  const sessions: ReturnType<typeof createChdbConnection>[] = []
  try {
    for (let i = 0; i < (config.embeddedSessions ?? DEFAULT_EMBEDDED_SESSIONS); i++)
      sessions.push(createChdbConnection({ path: config.embeddedPath }))
  } catch (err) {
    await Promise.all(sessions.map((s) => s.close()))
    throw err
  }
  return remember(
    createClient({ connection: new ChdbSessionPool(sessions) } as Parameters<typeof createClient>[0]),
    config,
  )
}

/** Tenant SQL statements that run at once in embedded mode; more wait for a slot. */
const TENANT_SQL_SESSIONS = 2

/**
 * The connection tenant SQL runs on, apart from the one ingestion and the dashboards use. Embedded:
 * a fresh chdb session per statement (platform/chdb-fresh-sessions.ts says why), at most two at
 * once, so a tenant's query never runs on, nor leaves anything in, a session that inserts. On a
 * server: a client of its own, as CLICKHOUSE_SQL_USER when that is set (a user that may only SELECT
 * the stored tables: schemas/clickhouse/README.md).
 */
export async function createTenantSqlClickHouse(config: ClickHouseConfig): Promise<ClickHouseClient> {
  if (config.url !== undefined) {
    return createClient({
      url: config.url,
      username: config.sqlUser ?? config.user,
      password: config.sqlUser === undefined ? config.password : (config.sqlPassword ?? ''),
      request_timeout: 60_000,
      compression: { request: false, response: true },
      max_open_connections: TENANT_SQL_SESSIONS * 2,
    })
  }
  const { createChdbConnection } = await import('chdb/connection')
  const { ChdbFreshSessions } = await import('./chdb-fresh-sessions.ts')
  const connection = new ChdbFreshSessions(
    () => createChdbConnection({ path: config.embeddedPath }),
    TENANT_SQL_SESSIONS,
  )
  return createClient({ connection } as Parameters<typeof createClient>[0])
}

export function describeClickHouse(config: ClickHouseConfig): string {
  return config.url === undefined
    ? `embedded chdb at ${config.embeddedPath}`
    : `server ${new URL(config.url).origin}`
}

/** ping() reports failure in its result instead of throwing; readiness checks want a rejection. */
export async function pingClickHouse(client: ClickHouseClient): Promise<void> {
  const result = await client.ping()
  if (!result.success) throw result.error
}
