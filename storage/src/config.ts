import { ConfigReader, type Env, type Setting } from '#platform/config.ts'

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

/** The storage server's settings (platform/config.ts). */
export const STORAGE_SETTINGS = {
  host: { env: 'STORAGE_HOST', type: 'string', default: '127.0.0.1', meaning: 'listen address' },
  port: { env: 'STORAGE_PORT', type: 'port', default: 8123, meaning: 'port' },
  user: {
    env: 'CLICKHOUSE_USER',
    type: 'string',
    default: 'default',
    meaning: 'the user its clients must present',
  },
  password: {
    env: 'CLICKHOUSE_PASSWORD',
    type: 'string',
    default: '',
    meaning: 'the password its clients must present (required)',
  },
  // A text body is read into one string, and V8's strings end at 512 MiB.
  maxBodyBytes: {
    env: 'STORAGE_MAX_BODY_BYTES',
    type: 'int',
    default: 256 * 1024 * 1024,
    min: 1024,
    max: 512 * 1024 * 1024,
    meaning: 'largest request body',
  },
} as const satisfies Record<string, Setting>

const S = STORAGE_SETTINGS

export function readStorageConfig(env: Env, dataDir: string): Readonly<StorageConfig> {
  const r = new ConfigReader(env)
  const host = r.string(S.host)
  const password = r.string(S.password)
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
    port: r.port(S.port),
    dataPath: `${dataDir}/clickhouse`,
    user: r.string(S.user),
    password,
    loopback: LOOPBACK.has(host),
    maxBodyBytes: r.int(S.maxBodyBytes),
  })
}
