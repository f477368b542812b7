import { createClient, type ClickHouseClient } from '@clickhouse/client'
import { ConfigReader } from './config.ts'

/**
 * One code path above the connection: embedded ClickHouse (chdb, in this process) by default, a real
 * ClickHouse server over HTTP when CLICKHOUSE_URL is set. chdb binds one data directory per process,
 * so in embedded mode everything that reads or writes ClickHouse must live in the process that owns
 * the directory (see deploy/local/start.ts).
 */
export interface ClickHouseConfig {
  /** http(s)://host:port of a ClickHouse server; undefined means embedded chdb. */
  url: string | undefined
  user: string
  password: string
  database: string
  /** chdb data directory (embedded mode only). */
  embeddedPath: string
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

export function readClickHouseConfig(reader: ConfigReader, dataDir: string): ClickHouseConfig {
  const database = reader.string('CLICKHOUSE_DATABASE', 'procstream')
  if (!IDENTIFIER.test(database))
    reader.problem(`CLICKHOUSE_DATABASE=${JSON.stringify(database)} is not a plain identifier`)
  return {
    url: reader.url('CLICKHOUSE_URL', ['http:', 'https:']),
    user: reader.string('CLICKHOUSE_USER', 'default'),
    password: reader.string('CLICKHOUSE_PASSWORD', ''),
    database,
    embeddedPath: `${dataDir}/clickhouse`,
  }
}

export async function createClickHouse(config: ClickHouseConfig): Promise<ClickHouseClient> {
  if (config.url !== undefined) {
    return createClient({
      url: config.url,
      username: config.user,
      password: config.password,
      request_timeout: 60_000,
      compression: { request: false, response: true },
    })
  }
  // Loaded lazily so processes that talk to a server never load the 500 MB engine.
  const { createChdbConnection } = await import('chdb/connection')
  return createClient({ connection: createChdbConnection({ path: config.embeddedPath }) } as Parameters<
    typeof createClient
  >[0])
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
