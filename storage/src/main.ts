/**
 * `npm run storage`: the embedded ClickHouse (chdb) of one host served over ClickHouse's HTTP
 * interface, so that several processors and query APIs, each its own process, share one data folder
 * (chdb lets only one process open it). Point them at it with CLICKHOUSE_URL. Beyond one host, run a
 * ClickHouse server instead (deploy/).
 */
import { createLogger } from '#platform/logger.ts'
import { runService } from '#platform/service-main.ts'
import { ChdbExecutor } from './chdb-executor.ts'
import { readStorageConfig } from './config.ts'
import { buildStorageServer } from './server.ts'

runService('storage', async () => {
  const logger = createLogger('storage')
  const config = readStorageConfig(process.env, process.env.PROCSTREAM_DATA_DIR ?? '.data')
  const executor = new ChdbExecutor(config.dataPath)
  await executor.ping()
  const app = buildStorageServer({
    executor,
    credentials: { user: config.user, password: config.password },
    maxBodyBytes: config.maxBodyBytes,
    logger,
    loopbackOnly: config.loopback,
  })
  await app.listen({ host: config.host, port: config.port })
  logger.info({ url: `http://${config.host}:${config.port}`, data: config.dataPath }, 'storage serving')
  return async () => {
    // Statements in flight finish first, so a clean stop never leaves a client to retry one.
    await app.close()
    executor.close()
  }
})
