import { resolve } from 'node:path'
import type { Logger } from '#platform/logger.ts'
import { readIngestConfig } from '../ingest/src/config.ts'
import type { ProcessorConfig } from '../stream-processors/src/config.ts'
import { NATS_SERVICE_PASSWORD_FILE } from '../deploy/local/nats.ts'
import { startGatewayProcess, type GatewayProcess } from './gateway-process.ts'
import type { Services } from './services.ts'

/**
 * The ingest gateway decodes what any ingest key sends: its own process, heap capped, restarted if
 * it dies (gateway-process.ts), so no request can take the processors, the query API or the
 * services down.
 */
export async function startGateway(o: {
  repoRoot: string
  dataDir: string
  services: Services
  processorConfig: ProcessorConfig
  logger: Logger
}): Promise<{ gateway: GatewayProcess; logFile: string }> {
  const { dataDir, processorConfig } = o
  const { brokers, localNats, natsClient } = o.services
  const ingestConfig = readIngestConfig(process.env, dataDir, { brokers })
  const logFile = resolve(dataDir, 'gateway.log')
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PROCSTREAM_DATA_DIR: dataDir,
    KAFKA_BROKERS: brokers.join(','),
    CLICKHOUSE_DATABASE: processorConfig.clickhouse.database,
  }
  // The gateway needs no operator key: what it does not hold, a compromise of it cannot leak.
  for (const name of ['PROCSTREAM_LOCAL_KEY', 'PROCSTREAM_ADMIN_KEY']) Reflect.deleteProperty(env, name)
  if (localNats) {
    // Control through the gateway for agents without a NATS credential, as the service user.
    for (const name of ['NATS_PASSWORD', 'NATS_CREDENTIALS_FILE']) Reflect.deleteProperty(env, name)
    Object.assign(env, {
      NATS_URL: natsClient.url,
      NATS_USER: natsClient.user,
      NATS_PASSWORD_FILE: resolve(dataDir, 'nats', NATS_SERVICE_PASSWORD_FILE),
    })
  }
  const gateway = await startGatewayProcess({
    repoRoot: o.repoRoot,
    env,
    embeddedPath:
      processorConfig.clickhouse.url === undefined ? processorConfig.clickhouse.embeddedPath : undefined,
    url: `${ingestConfig.tls ? 'https' : 'http'}://${ingestConfig.host}:${String(ingestConfig.port)}`,
    logFile,
    logger: o.logger,
  })
  return { gateway, logFile }
}
