/**
 * Requests and values per second the ingest gateway sustains into the real broker on this machine.
 * This process runs the gateway (with its key table in embedded ClickHouse and a real API key); a
 * separate process (bench/ingest-load.ts) posts gzip'ed batches of ~100 values over keep-alive
 * connections for the window; the broker runs beside both. Every 202 means acks from all in-sync
 * replicas, so what is counted is what Kafka holds. The per-tenant rate limits are lifted for the run:
 * the question is the gateway's capacity, not the default quota.
 * `npx tsx bench/ingest-gateway.ts [--seconds N] [--connections N] [--values N]`
 */
import { spawn } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { withBenchBroker } from './bench-broker.ts'
import { readIngestConfig } from '../ingest/src/config.ts'
import { startIngestGateway } from '../ingest/src/service.ts'
import { KeyAuthenticator } from '#platform/auth/authenticator.ts'
import { KeyStore } from '#platform/auth/key-store.ts'
import { createClickHouse } from '#platform/clickhouse.ts'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { migrate } from '#schemas/clickhouse/migrate.ts'
import { readProcessorConfig } from '../stream-processors/src/config.ts'
import { ddlOptions } from '../stream-processors/src/service.ts'
import type { LoadResult } from './ingest-load.ts'

export interface GatewayBenchResult {
  seconds: number
  connections: number
  partitions: number
  recordsPerRequest: number
  valuesPerRequest: number
  bodyBytes: number
  requests: number
  accepted: number
  refused: Record<string, number>
  errors: number
  requestsPerSecond: number
  valuesPerSecond: number
  latencyMs: { p50: number; p99: number }
  /** Records the gateway counted as acknowledged by Kafka, against accepted × records per request. */
  recordsAcked: number
  kafkaMessages: number
  /** Produce requests and the mean time each waited for its acknowledgement. */
  kafkaSends: number
  kafkaSendMs: number
  gatewayCpuPercent: number
  loadCpuPercent: number
}

const PARTITIONS = 6
const LOAD_SCRIPT = fileURLToPath(new URL('./ingest-load.ts', import.meta.url))

function runLoad(args: string[]): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', LOAD_SCRIPT, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the load generator exited with ${String(code)}`))
      else resolve(JSON.parse(out) as LoadResult)
    })
  })
}

export async function benchIngestGateway(
  o: { seconds?: number; connections?: number; values?: number } = {},
): Promise<GatewayBenchResult> {
  const seconds = o.seconds ?? 30
  const connections = o.connections ?? 64
  const logger = createLogger('bench-ingest', { level: 'error' })
  return withBenchBroker('ingest', PARTITIONS, async ({ dir, brokers, topic }) => {
    const processorConfig = readProcessorConfig({ CLICKHOUSE_DATABASE: 'bench' }, dir, {
      brokers: brokers,
    })
    const clickhouse = await createClickHouse(processorConfig.clickhouse)
    await migrate(clickhouse, ddlOptions(processorConfig))
    const store = new KeyStore(clickhouse, processorConfig.clickhouse.database)
    await store.createTenant('bench')
    const { key } = await store.createKey({ tenant: 'bench', scopes: ['ingest'] })
    const auth = new KeyAuthenticator(store, { refreshMs: 2000, logger })
    await auth.start()
    const config = {
      ...readIngestConfig(
        {
          KAFKA_TOPIC: topic,
          INGEST_TENANT_REQUESTS_PER_S: '1000000',
          INGEST_TENANT_RECORDS_PER_S: '100000000',
        },
        dir,
        { brokers: brokers },
      ),
      port: 0,
    }
    const client = createKafka(brokers, 'bench-ingest', logger)
    const gateway = await startIngestGateway({ config, kafka: client, auth, logger, readiness: [] })

    const cpu0 = process.cpuUsage()
    const load = await runLoad([
      gateway.url,
      key,
      String(connections),
      String(seconds),
      String(o.values ?? 100),
    ])
    const cpu = process.cpuUsage(cpu0)
    const metrics = await gateway.app.inject({ url: '/metrics' })
    const metric = (name: string): number =>
      Number(new RegExp(`^${name}(?:\\{\\})? ([0-9.e+]+)$`, 'm').exec(metrics.body)?.[1] ?? NaN)
    await gateway.stop()
    auth.stop()
    await clickhouse.close()

    const admin = client.admin()
    await admin.connect()
    const offsets = await admin.fetchTopicOffsets(topic)
    await admin.disconnect()
    return {
      seconds: load.seconds,
      connections,
      partitions: PARTITIONS,
      recordsPerRequest: load.recordsPerRequest,
      valuesPerRequest: load.valuesPerRequest,
      bodyBytes: load.bodyBytes,
      requests: load.requests,
      accepted: load.accepted,
      refused: load.refused,
      errors: load.errors,
      requestsPerSecond: load.accepted / load.seconds,
      valuesPerSecond: (load.accepted * load.valuesPerRequest) / load.seconds,
      latencyMs: load.latencyMs,
      recordsAcked: metric('procstream_ingest_records_total'),
      kafkaSends: metric('procstream_ingest_kafka_sends_total'),
      kafkaSendMs:
        (metric('procstream_ingest_kafka_send_seconds_total') * 1000) /
        metric('procstream_ingest_kafka_sends_total'),
      kafkaMessages: offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0),
      // Both over the load's window (the gateway's also covers the last replies it sent).
      gatewayCpuPercent: ((cpu.user + cpu.system) / 1e6 / load.seconds) * 100,
      loadCpuPercent: (load.cpuSeconds / load.seconds) * 100,
    }
  })
}

export function gatewayMarkdown(r: GatewayBenchResult): string {
  const refused =
    Object.entries(r.refused)
      .map(([s, n]) => `${s}: ${String(n)}`)
      .join(', ') || 'none'
  const audit =
    r.recordsAcked === r.accepted * r.recordsPerRequest
      ? 'every accepted record acknowledged'
      : `MISMATCH: ${String(r.recordsAcked)} acknowledged, ${String(r.accepted * r.recordsPerRequest)} accepted`
  return [
    `ingest gateway into the broker on this machine (acks=all, ${String(r.partitions)} partitions), ${String(r.connections)} keep-alive connections from a separate load process, ${r.seconds.toFixed(0)} s; ${String(r.valuesPerRequest)} values (${String(r.recordsPerRequest)} records, ${String(r.bodyBytes)} B gzip'ed) per request`,
    '| requests/s (202) | values/s | p50 ms | p99 ms | gateway CPU % | load CPU % | Kafka messages | produce requests | ms per produce | refused | errors |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    `| ${Math.round(r.requestsPerSecond).toLocaleString('en')} | ${Math.round(r.valuesPerSecond).toLocaleString('en')} | ${r.latencyMs.p50.toFixed(1)} | ${r.latencyMs.p99.toFixed(1)} | ${r.gatewayCpuPercent.toFixed(0)} | ${r.loadCpuPercent.toFixed(0)} | ${r.kafkaMessages.toLocaleString('en')} | ${r.kafkaSends.toLocaleString('en')} | ${r.kafkaSendMs.toFixed(1)} | ${refused} | ${String(r.errors)} |`,
    `audit: ${audit}`,
  ].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { seconds: { type: 'string' }, connections: { type: 'string' }, values: { type: 'string' } },
  })
  const result = await benchIngestGateway({
    seconds: Number(values.seconds ?? 30),
    connections: Number(values.connections ?? 64),
    values: Number(values.values ?? 100),
  })
  process.stdout.write(`${gatewayMarkdown(result)}\n`)
}
