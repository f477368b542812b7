/**
 * How many rows and values per second one processor stores into embedded ClickHouse, the broker on
 * the same machine: a backlog of a simulated fleet's envelopes (this host's real /proc samples, one
 * Kafka message per host-second as an agent batches them) is produced first, then one processor
 * drains it; the clock runs from its start until the group has committed everything.
 * `npx tsx bench/processor-throughput.ts [--hosts N] [--seconds N]`
 */
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { withBenchBroker } from './bench-broker.ts'
import { createClickHouse } from '#platform/clickhouse.ts'
import { createKafka } from '#platform/kafka.ts'
import { sampleKey } from '#schemas/src/kafka-topic.ts'
import { createLogger } from '#platform/logger.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { hostSnapshot, valuesIn } from '../loadtest/src/host-snapshot.ts'
import { readProcessorConfig } from '../stream-processors/src/config.ts'
import { startProcessor } from '../stream-processors/src/service.ts'

export interface ThroughputResult {
  hosts: number
  seconds: number
  partitions: number
  messages: number
  envelopes: number
  values: number
  /** Wall time from the processor's start until every offset was committed. */
  drainSeconds: number
  envelopesPerSecond: number
  valuesPerSecond: number
}

const PARTITIONS = 6

export async function benchProcessorThroughput(hosts = 200, seconds = 60): Promise<ThroughputResult> {
  const logger = createLogger('bench-processor', { level: 'error' })
  return withBenchBroker('processor', PARTITIONS, async ({ dir, brokers, topic }) => {
    // One snapshot of this host's /proc stands in for every host: values do not change insert cost.
    const samples = hostSnapshot()
    const valuesPerHostSecond = samples.reduce((n, s) => n + valuesIn(s), 0)

    const codec = envelopeCodec()
    const client = createKafka(brokers, 'bench-processor', logger)
    const producer = client.producer()
    await producer.connect()
    const t0 = Math.floor(Date.now() / 1000 - seconds) * 1000
    let messages = 0
    for (let sec = 0; sec < seconds; sec++) {
      const batch = []
      for (let h = 0; h < hosts; h++) {
        const host = `host-${String(h).padStart(5, '0')}`
        const value = Buffer.concat(
          samples.map((sample, i) =>
            codec.encode({
              tenant: 'bench',
              host_id: host,
              hostname: host,
              agent_id: `agent-${host}`,
              seq: sec * samples.length + i,
              ts_us: (t0 + sec * 1000) * 1000,
              interval_ms: 1000,
              sample,
            }),
          ),
        )
        batch.push({ key: sampleKey('bench', host), value })
      }
      await producer.send({ topic, acks: -1, messages: batch })
      messages += batch.length
    }
    await producer.disconnect()

    const config = readProcessorConfig(
      {
        KAFKA_TOPIC: topic,
        PROCESSOR_GROUP_ID: 'bench-processor',
        CLICKHOUSE_DATABASE: 'bench',
        PROCESSOR_METRICS_LISTEN: 'off',
        // The backlog is as old as the run; keep every sample.
        PROCESSOR_MAX_SAMPLE_AGE_S: String(seconds + 3600),
      },
      dir,
      { brokers: brokers },
    )
    const clickhouse = await createClickHouse(config.clickhouse)
    const start = performance.now()
    const processor = await startProcessor({ config, kafka: client, clickhouse, logger })
    for (;;) {
      await new Promise((r) => setTimeout(r, 250))
      if ((await processor.lag()).every((p) => p.messages === 0)) break
    }
    const drainSeconds = (performance.now() - start) / 1000
    await processor.stop()
    await clickhouse.close()
    const envelopes = hosts * seconds * samples.length
    const values = hosts * seconds * valuesPerHostSecond
    return {
      hosts,
      seconds,
      partitions: PARTITIONS,
      messages,
      envelopes,
      values,
      drainSeconds,
      envelopesPerSecond: envelopes / drainSeconds,
      valuesPerSecond: values / drainSeconds,
    }
  })
}

export function throughputMarkdown(r: ThroughputResult): string {
  return [
    `one processor draining a backlog into embedded ClickHouse (rollup views on), broker on this machine: ${String(r.hosts)} hosts × ${String(r.seconds)} s, ${String(r.partitions)} partitions`,
    '| messages | envelopes | values | drain s | envelopes/s | values/s |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${r.messages.toLocaleString('en')} | ${r.envelopes.toLocaleString('en')} | ${r.values.toLocaleString('en')} | ${r.drainSeconds.toFixed(1)} | ${Math.round(r.envelopesPerSecond).toLocaleString('en')} | ${Math.round(r.valuesPerSecond).toLocaleString('en')} |`,
  ].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { hosts: { type: 'string' }, seconds: { type: 'string' } } })
  const result = await benchProcessorThroughput(Number(values.hosts ?? 200), Number(values.seconds ?? 60))
  process.stdout.write(`${throughputMarkdown(result)}\n`)
}
