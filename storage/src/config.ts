import { ConfigReader, type Env } from '#platform/config.ts'

export interface StorageConfig {
  host: string
  port: number
  /** The chdb data folder this process opens and serves. */
  dataPath: string
  /** What clients must present: the same CLICKHOUSE_USER/PASSWORD names the clients read. */
  user: string
  password: string
  maxBodyBytes: number
  /** Whether `host` is a loopback address. */
  loopback: boolean
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

export function readStorageConfig(env: Env, dataDir: string): Readonly<StorageConfig> {
  const r = new ConfigReader(env)
  const host = r.string('STORAGE_HOST', '127.0.0.1')
  const password = r.string('CLICKHOUSE_PASSWORD', '')
  if (r.string('CLICKHOUSE_URL') !== undefined)
    r.problem('CLICKHOUSE_URL is set, but the storage role is the server: it serves embedded chdb itself')
  // Whoever reaches this port can run any SQL, file() included, as this process: even on loopback
  // every local user could, so there is no password-less mode.
  if (password === '')
    r.problem(
      'CLICKHOUSE_PASSWORD is required: without it anyone who reaches the storage server runs any SQL',
    )
  return r.done({
    host,
    port: r.port('STORAGE_PORT', 8123),
    dataPath: `${dataDir}/clickhouse`,
    user: r.string('CLICKHOUSE_USER', 'default'),
    password,
    loopback: LOOPBACK.has(host),
    // A text body is read into one string, and V8's strings end at 512 MiB.
    maxBodyBytes: r.int('STORAGE_MAX_BODY_BYTES', 256 * 1024 * 1024, { min: 1024, max: 512 * 1024 * 1024 }),
  })
}
