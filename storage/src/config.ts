import { ConfigReader, type Env } from '../../platform/config.ts'

export interface StorageConfig {
  host: string
  port: number
  /** The chdb data folder this process opens and serves. */
  dataPath: string
  /** What clients must present; the same variables the clients read, so one env file serves both. */
  user: string
  password: string
  maxBodyBytes: number
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

export function readStorageConfig(env: Env, dataDir: string): Readonly<StorageConfig> {
  const r = new ConfigReader(env)
  const host = r.string('STORAGE_HOST', '127.0.0.1')
  const password = r.string('CLICKHOUSE_PASSWORD', '')
  if (r.string('CLICKHOUSE_URL') !== undefined)
    r.problem('CLICKHOUSE_URL is set, but the storage role is the server: it serves embedded chdb itself')
  // Anyone who reaches this port can run any SQL: beyond this host it must not be open to all.
  if (!LOOPBACK.has(host) && password === '')
    r.problem(`STORAGE_HOST=${host} is reachable from other hosts: set CLICKHOUSE_PASSWORD`)
  return r.done({
    host,
    port: r.port('STORAGE_PORT', 8123),
    dataPath: `${dataDir}/clickhouse`,
    user: r.string('CLICKHOUSE_USER', 'default'),
    password,
    maxBodyBytes: r.int('STORAGE_MAX_BODY_BYTES', 256 * 1024 * 1024, { min: 1024, max: 1024 ** 3 }),
  })
}
