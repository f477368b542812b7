import type { Scope } from '#platform/auth/api-key.ts'
import { KeyAuthenticator } from '#platform/auth/authenticator.ts'
import { KeyStore } from '#platform/auth/key-store.ts'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { readIngestConfig } from '../../ingest/src/config.ts'
import { startIngestGateway, type RunningGateway } from '../../ingest/src/service.ts'
import { migrate } from '#schemas/clickhouse/migrate.ts'
import { ddlOptions } from '../../stream-processors/src/service.ts'
import { openProcessorTestbed, type ProcessorTestbed } from './processor-testbed.ts'

export interface GatewayTestbed extends ProcessorTestbed {
  store: KeyStore
  auth: KeyAuthenticator
  gateway: RunningGateway
  /** Another gateway on the same topic and key table, with its own settings; closed with the testbed. */
  startGateway(env: Record<string, string>): Promise<RunningGateway>
  /** Makes a key for a tenant (created if missing) and returns it. */
  key(tenant: string, scopes: Scope[]): Promise<string>
}

/**
 * A topic, embedded ClickHouse with the schema applied (keys live there), and the ingest gateway on a
 * free port in front of the suite's broker, authenticating against the real key table.
 */
export async function openGatewayTestbed(
  name: string,
  options: { partitions: number; env?: Record<string, string>; brokers?: string[] },
): Promise<GatewayTestbed> {
  const bed = await openProcessorTestbed(name, options)
  const logger = createLogger(`it-${name}`, { level: 'warn' })
  await migrate(bed.clickhouse, ddlOptions(bed.config))
  const store = new KeyStore(bed.clickhouse, bed.config.clickhouse.database)
  const auth = new KeyAuthenticator(store, { refreshMs: 250, logger })
  await auth.start()
  const stops: (() => Promise<void>)[] = []
  const startGateway = async (env: Record<string, string>): Promise<RunningGateway> => {
    const config = {
      ...readIngestConfig({ KAFKA_TOPIC: bed.config.topic, ...env }, '/nonexistent', {
        brokers: bed.brokers,
      }),
      // A free port unless the test asks for one (to start a gateway again where agents expect it).
      port: env.INGEST_PORT ? Number(env.INGEST_PORT) : 0,
    }
    const gateway = await startIngestGateway({
      config,
      kafka: createKafka(bed.brokers, `it-${name}-gateway`, logger),
      auth,
      logger,
      readiness: [],
    })
    stops.push(() => gateway.stop())
    return gateway
  }
  const gateway = await startGateway(options.env ?? {})
  return {
    ...bed,
    store,
    auth,
    gateway,
    startGateway,
    key: async (tenant, scopes) => {
      await store.createTenant(tenant, { ifMissing: true })
      const { key } = await store.createKey({ tenant, scopes })
      await auth.refresh()
      return key
    },
    close: async () => {
      auth.stop()
      for (const stop of stops) await stop()
      await bed.close()
    },
  }
}
