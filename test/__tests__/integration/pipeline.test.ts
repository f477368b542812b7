/**
 * The walking skeleton through real parts: the agent (its own process, this host's /proc) → a real
 * Kafka broker → the stream processor → embedded ClickHouse → the query API, with the processor
 * stopped and restarted mid-stream.
 */
import { wideSql } from '#schemas/clickhouse/wide.ts'
import { readFileSync } from 'node:fs'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouse, pingClickHouse } from '#platform/clickhouse.ts'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { ensureTopics } from '../../../deploy/local/kafka.ts'
import { memoryKeys } from '../../support/keys.ts'
import { buildQueryApi } from '../../../query-api/src/server.ts'
import { readProcessorConfig, type ProcessorConfig } from '../../../stream-processors/src/config.ts'
import { startProcessor } from '../../../stream-processors/src/service.ts'
import { killAllChildren, NodeChild } from '../../support/node-child.ts'
import { waitFor } from '../../support/wait-for.ts'

/** Tenant acme's stored points with their names (schemas/clickhouse/wide.ts). */
const ACME_POINTS = wideSql({
  database: 'pipeline',
  source: 'points',
  seriesWhere: `tenant = 'acme'`,
  tenant: `'acme'`,
})
const { auth: readKeys, keys: readKey } = await memoryKeys([{ tenant: 'acme', scopes: ['read'] }])
const KEY = readKey[0] as string
const HOST = `it-host-${process.pid}`
const logger = createLogger('it-pipeline', { level: 'warn' })

let dataDir: string
let config: ProcessorConfig
let clickhouse: ClickHouseClient
let api: FastifyInstance

async function one<T>(query: string): Promise<T> {
  const rs = await clickhouse.query({ query, format: 'JSONEachRow' })
  const rows = await rs.json<T>()
  if (!rows[0]) throw new Error(`no row for ${query}`)
  return rows[0]
}

function procStatUserTicks(cpu: string): number {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `))
  return Number(line?.split(/\s+/)[1])
}

beforeAll(async () => {
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',')
  const topic = `it-pipeline-${Date.now()}`
  await ensureTopics(brokers, [{ name: topic, partitions: 3 }])
  dataDir = mkdtempSync(join(tmpdir(), 'procstream-it-'))
  config = readProcessorConfig(
    { KAFKA_TOPIC: topic, PROCESSOR_GROUP_ID: `${topic}-group`, CLICKHOUSE_DATABASE: 'pipeline' },
    dataDir,
    { brokers },
  )
  clickhouse = await createClickHouse(config.clickhouse)
  api = await buildQueryApi({
    clickhouse,
    database: 'pipeline',
    keys: readKeys,
    logger,
    maxPoints: 11_000,
    readiness: [{ name: 'clickhouse', check: () => pingClickHouse(clickhouse) }],
  })
})

afterAll(async () => {
  await killAllChildren()
  await api.close()
  await clickhouse.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('agent → Kafka → processor → ClickHouse → query API', () => {
  it('stores every sample exactly once across a processor restart, with the values /proc had', async () => {
    const cpu0UserBefore = procStatUserTicks('0')
    const agent = NodeChild.start('agent/src/main.ts', [
      '--brokers',
      config.brokers.join(','),
      '--topic',
      config.topic,
      '--interval',
      '200',
      '--host-id',
      HOST,
      '--tenant',
      'acme',
      '--family-intervals',
      'agent=1000',
      '--metrics-listen',
      '127.0.0.1:0',
    ])
    const kafka = createKafka(config.brokers, 'it-processor', logger)
    let processor = await startProcessor({ config, kafka, clickhouse, logger })
    await waitFor('first samples in ClickHouse', async () => {
      const { n } = await one<{ n: string }>('SELECT count() AS n FROM pipeline.sample_log')
      return Number(n) >= 25 ? true : undefined
    })
    // Reads while the processor writes, in the same process and ClickHouse session: a read must not
    // change what the writer may do (chdb shares one session per process).
    const mid = await api.inject({
      url: `/api/series?host=${HOST}&metric=node_load1&from=${Date.now() - 60_000}&to=${Date.now()}`,
      headers: { authorization: `Bearer ${KEY}` },
    })
    expect(mid.statusCode).toBe(200)
    const storedBefore = Number((await one<{ n: string }>('SELECT count() AS n FROM pipeline.sample_log')).n)
    await waitFor('inserts to continue after a read', async () => {
      const { n } = await one<{ n: string }>('SELECT count() AS n FROM pipeline.sample_log')
      return Number(n) > storedBefore ? true : undefined
    })
    // Stop mid-stream while the agent keeps producing, then resume with a new group member.
    await processor.stop()
    await new Promise((r) => setTimeout(r, 1500))
    processor = await startProcessor({ config, kafka, clickhouse, logger })
    await new Promise((r) => setTimeout(r, 2500))
    // The agent's own health, scraped from its /metrics while it runs.
    const served = agent.logLines().find((l) => l.msg === 'serving the agent’s own metrics on /metrics')
    const scraped = await (await fetch(`http://${String(served?.address)}/metrics`)).text()
    expect(Number(/^procstream_agent_records_sent_total (\d+)$/m.exec(scraped)?.[1])).toBeGreaterThan(0)
    expect(scraped).toMatch(/^procstream_agent_parse_errors_total\{family="cpu"\} 0$/m)
    expect(await agent.stop()).toBe(0)
    const cpu0UserAfter = procStatUserTicks('0')

    const stopped = agent.logLines().find((l) => l.msg === 'agent stopped')
    const sent = Number(stopped?.sentRecords)
    expect(sent).toBeGreaterThan(40)
    expect(stopped?.droppedRecords).toBe(0)
    await waitFor('every sent sample stored', async () => {
      const { n } = await one<{ n: string }>('SELECT count() AS n FROM pipeline.sample_log')
      return Number(n) >= sent ? true : undefined
    })
    await processor.stop()

    const log = await one<{ n: string; uniq: string; min_seq: string; max_seq: string; points: string }>(
      `SELECT count() AS n, uniqExact(agent_id, seq) AS uniq, min(seq) AS min_seq, max(seq) AS max_seq,
              sum(points) AS points FROM pipeline.sample_log WHERE tenant = 'acme' AND host = '${HOST}'`,
    )
    expect(Number(log.n)).toBe(sent)
    expect(Number(log.uniq)).toBe(sent)
    expect(Number(log.min_seq)).toBe(0)
    expect(Number(log.max_seq)).toBe(sent - 1)
    const raw = await one<{ n: string; uniq: string }>(
      `SELECT count() AS n, uniqExact(metric, labels, ts) AS uniq FROM (${ACME_POINTS}) WHERE tenant = 'acme'`,
    )
    expect(Number(raw.n)).toBe(Number(log.points))
    // ... and stored like any other family: samples taken only grow, nothing dropped.
    const health = await clickhouse.query({
      query: `SELECT value FROM (${ACME_POINTS}) WHERE host = {host:String}
              AND metric = 'procstream_agent_samples_total' ORDER BY ts`,
      query_params: { host: HOST },
      format: 'JSONEachRow',
    })
    const taken = (await health.json<{ value: number }>()).map((r) => r.value)
    expect(taken.length).toBeGreaterThanOrEqual(5)
    expect(taken).toEqual([...taken].sort((a, b) => a - b))
    expect(Number(raw.uniq)).toBe(Number(raw.n))

    // Values are the ones /proc had: MemTotal never changes; cpu0's user time lies between two reads.
    const memTotalKb = Number(/MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1])
    const mem = await one<{ lo: number; hi: number }>(
      `SELECT min(value) AS lo, max(value) AS hi FROM (${ACME_POINTS}) WHERE metric = 'node_memory_MemTotal_bytes'`,
    )
    expect(mem).toEqual({ lo: memTotalKb * 1024, hi: memTotalKb * 1024 })
    const user = await one<{ lo: number; hi: number }>(
      `SELECT min(value) AS lo, max(value) AS hi FROM (${ACME_POINTS})
       WHERE metric = 'node_cpu_seconds_total' AND labels = '{"cpu":"0","mode":"user"}'`,
    )
    expect(user.lo).toBeGreaterThanOrEqual(cpu0UserBefore / 100)
    expect(user.hi).toBeLessThanOrEqual(cpu0UserAfter / 100)

    // The query API returns the same data, scoped to the key's tenant.
    const auth = { authorization: `Bearer ${KEY}` }
    const now = Date.now()
    const hosts = await api.inject({ url: '/api/hosts', headers: auth })
    expect(hosts.json()).toMatchObject({ hosts: [{ host_id: HOST }] })
    const memSeries = await api.inject({
      url: `/api/series?host=${HOST}&metric=node_memory_MemTotal_bytes&from=${now - 120_000}&to=${now}&points=120`,
      headers: auth,
    })
    expect(memSeries.statusCode).toBe(200)
    const memValues = memSeries
      .json<{ series: { values: (number | null)[] }[] }>()
      .series[0]?.values.filter((v) => v !== null)
    expect(memValues?.length).toBeGreaterThan(2)
    expect(new Set(memValues)).toEqual(new Set([memTotalKb * 1024]))

    // CPU seconds per second summed over all modes is the number of CPUs.
    const cpuSeries = await api.inject({
      url: `/api/series?host=${HOST}&metric=node_cpu_seconds_total&fn=rate&sum_by=cpu&from=${now - 60_000}&to=${now}&points=60`,
      headers: auth,
    })
    const perCpu = cpuSeries.json<{ series: { labels: { cpu: string }; values: (number | null)[] }[] }>()
      .series
    expect(perCpu.length).toBe(cpus().length)
    for (const s of perCpu) {
      const full = s.values.filter((v): v is number => v !== null)
      expect(full.length).toBeGreaterThanOrEqual(3)
      const mean = full.reduce((a, b) => a + b, 0) / full.length
      expect(mean).toBeGreaterThan(0.8)
      expect(mean).toBeLessThan(1.2)
    }

    expect((await api.inject({ url: '/api/hosts' })).statusCode).toBe(401)
    const wrong = await api.inject({
      url: '/api/hosts',
      headers: { authorization: 'Bearer wrong-key-wrong-key' },
    })
    expect(wrong.statusCode).toBe(401)
    expect(wrong.json()).toEqual({ error: 'invalid API key', code: 'UNAUTHENTICATED' })
  })
})
