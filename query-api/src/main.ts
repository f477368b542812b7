/**
 * The query API as its own process (`npm run query-api`), for distributed installations: as many as
 * needed behind a load balancer, each reading the installation's ClickHouse server. Under `npm start`
 * it runs inside the core process instead, next to the embedded ClickHouse it shares, so this entry
 * refuses to start without CLICKHOUSE_URL: embedded chdb belongs to exactly one process.
 */
import { readFileSync } from 'node:fs'
import type { NatsConnection } from 'nats'
import { parseKey } from '#platform/auth/api-key.ts'
import { KeyAuthenticator } from '#platform/auth/authenticator.ts'
import { verifyKey } from '#platform/auth/key-hash.ts'
import { KeyStore } from '#platform/auth/key-store.ts'
import {
  createClickHouse,
  createTenantSqlClickHouse,
  describeClickHouse,
  pingClickHouse,
  readClickHouseConfig,
  type ClickHouseConfig,
} from '#platform/clickhouse.ts'
import { ConfigReader, type Env } from '#platform/config.ts'
import { runService } from '#platform/service-main.ts'
import { createLogger, type Logger } from '#platform/logger.ts'
import { connectNats, readNatsClient, type NatsClientConfig } from '#platform/nats-client.ts'
import { readQueryApiConfig } from './config.ts'
import { buildQueryApi, queryApiOptionsFrom } from './server.ts'

/** The tenant the bootstrap key belongs to; the key carries the operator scope only, never read. */
const ADMIN_TENANT = 'admin'

/** What only the stand-alone process needs; the routes' own settings are readQueryApiConfig's. */
interface ProcessConfig {
  clickhouse: ClickHouseConfig
  /** The service credential: /api/live subscribes to whichever tenant's subjects a key asks for. */
  nats: NatsClientConfig | undefined
  /** A key registered with the operator scope at start-up, so a new installation can be administered. */
  adminKey: string | undefined
}

function readProcessConfig(env: Env): Readonly<ProcessConfig> {
  const r = new ConfigReader(env)
  const clickhouse = readClickHouseConfig(r, process.cwd())
  if (clickhouse.url === undefined)
    r.problem(
      'CLICKHOUSE_URL is required: the query API reads the installation’s ClickHouse server (npm start runs it in-process instead)',
    )
  const nats = readNatsClient(r, 'service')
  const adminKeyFile = r.string('PROCSTREAM_ADMIN_KEY_FILE')
  let adminKey: string | undefined
  if (adminKeyFile !== undefined) {
    try {
      adminKey = readFileSync(adminKeyFile, 'utf8').trim()
      // The message names the file, never its content: ConfigError goes to stderr and from there to logs.
      if (!parseKey(adminKey))
        r.problem(
          `PROCSTREAM_ADMIN_KEY_FILE=${adminKeyFile} does not hold a key of the form psk_<id>_<secret>`,
        )
    } catch (err) {
      r.problem(`PROCSTREAM_ADMIN_KEY_FILE=${adminKeyFile} cannot be read: ${(err as Error).message}`)
    }
  }
  return r.done({ clickhouse, nats, adminKey })
}

/**
 * Registers the bootstrap key unless the key table already holds it. A distributed installation has
 * no local key file for `npm run admin` to fall back on, and keys are made through the admin API,
 * which itself wants an operator key: this is the way in. Idempotent, so every replica may run it at
 * every start; a key an operator revoked stays revoked, as the all-in-one local key does. A key stored
 * with other scopes (an `admin` key from before the operator scope) is stored again as `operator`.
 */
async function ensureAdminKey(store: KeyStore, key: string, logger: Logger): Promise<void> {
  const keyId = (parseKey(key) as { keyId: string }).keyId
  await store.createTenant(ADMIN_TENANT, { ifMissing: true })
  const stored = (await store.loadKeys(ADMIN_TENANT)).find((k) => k.keyId === keyId)
  if (stored?.revokedAt) {
    logger.warn({ keyId }, 'the key in PROCSTREAM_ADMIN_KEY_FILE is revoked; it stays revoked')
    return
  }
  if (stored && stored.scopes.join() === 'operator' && (await verifyKey(key, stored.hash))) return
  await store.registerKey(key, {
    tenant: ADMIN_TENANT,
    scopes: ['operator'],
    name: 'bootstrap operator key (PROCSTREAM_ADMIN_KEY_FILE)',
  })
  logger.info({ keyId, tenant: ADMIN_TENANT }, 'registered the bootstrap operator key')
}

const logger = createLogger('query-api')

async function main(): Promise<() => Promise<void>> {
  const api = readQueryApiConfig(process.env)
  const config = readProcessConfig(process.env)
  const clickhouse = await createClickHouse(config.clickhouse)
  const sqlClickhouse = await createTenantSqlClickHouse(config.clickhouse)
  const store = new KeyStore(clickhouse, config.clickhouse.database)
  // The key tables are created by the processors' migrations: until one has run, this start fails
  // here and the supervisor (compose, Kubernetes) starts it again.
  if (config.adminKey !== undefined) await ensureAdminKey(store, config.adminKey, logger)
  const auth = new KeyAuthenticator(store, { refreshMs: api.keysRefreshMs, logger })
  await auth.start()
  // No reconnect limit: a NATS restart must not end live streams for good.
  const nats: NatsConnection | undefined =
    config.nats === undefined
      ? undefined
      : await connectNats(config.nats, 'procstream-query-api', { maxReconnectAttempts: -1 })
  const app = await buildQueryApi({
    clickhouse,
    sqlClickhouse,
    sqlTenantSetting: config.clickhouse.sqlUser !== undefined,
    database: config.clickhouse.database,
    keys: auth,
    admin: { keys: auth, store },
    logger,
    ...queryApiOptionsFrom(api, nats),
    // ClickHouse only. Every read needs it; Kafka is never read here, and NATS carries only
    // /api/live (which answers 503 by itself without it): neither may take a replica out of the
    // load balancer while dashboards, Grafana and SQL still work.
    readiness: [{ name: 'clickhouse', check: () => pingClickHouse(clickhouse) }],
  })
  await app.listen({ host: api.host, port: api.port })
  logger.info(
    {
      url: `${api.tls ? 'https' : 'http'}://${api.host}:${String(api.port)}`,
      clickhouse: describeClickHouse(config.clickhouse),
      live: nats !== undefined,
    },
    'query API listening',
  )
  return async () => {
    // Close the listener first so in-flight requests finish while nothing new arrives.
    await app.close()
    auth.stop()
    await nats?.drain()
    await sqlClickhouse.close()
    await clickhouse.close()
  }
}

runService('query API', main)
