/**
 * `npm run storage`: the embedded ClickHouse (chdb) of one host served over ClickHouse's HTTP
 * interface, so that several processors and query APIs, each its own process, share one data folder
 * (chdb lets only one process open it). Point them at it with CLICKHOUSE_URL. Beyond one host, run a
 * ClickHouse server instead (deploy/).
 */
import { ConfigError } from '../../platform/errors.ts'
import { createLogger } from '../../platform/logger.ts'
import { ChdbExecutor } from './chdb-executor.ts'
import { readStorageConfig } from './config.ts'
import { buildStorageServer } from './server.ts'

const logger = createLogger('storage')
try {
  const config = readStorageConfig(process.env, process.env.PROCSTREAM_DATA_DIR ?? '.data')
  const executor = new ChdbExecutor(config.dataPath)
  await executor.ping()
  const app = buildStorageServer({
    executor,
    credentials: { user: config.user, password: config.password },
    maxBodyBytes: config.maxBodyBytes,
    logger,
  })
  await app.listen({ host: config.host, port: config.port })
  logger.info({ url: `http://${config.host}:${config.port}`, data: config.dataPath }, 'storage serving')
  const stop = async (): Promise<void> => {
    // Requests in flight finish first: an insert cut off here would be one the client retries anyway,
    // but a clean stop should not make it.
    await app.close()
    executor.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`)
    process.exit(2)
  }
  throw err
}
