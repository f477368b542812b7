/**
 * Every component's /metrics, read for real, and the operator's pipeline view over them: a real
 * gateway on Kafka, a real processor consuming it, the real agent process sending through the
 * gateway, the storage server over the same embedded ClickHouse, and the query API reading them all
 * (itself included). Then the page, in Chromium.
 */
import { createServer, type Server } from 'node:http'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VERSION } from '#platform/build-info.ts'
import { createClickHouse } from '#platform/clickhouse.ts'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import type { MetricsServer } from '#platform/metrics-server.ts'
import { parseExposition, samplesOf, sumOf, type ParsedExposition } from '#platform/prometheus-parse.ts'
import { findFreePorts } from '../../../deploy/local/ports.ts'
import { ChdbExecutor, buildStorageServer } from '#test/support/components/storage.ts'
import {
  type StreamProcessor,
  serveProcessorMetrics,
  startProcessor,
} from '#test/support/components/stream-processors.ts'
import { buildQueryApi } from '../../src/server.ts'
import type { PipelineSummary } from '../../src/pipeline/summary.ts'
import { launchChromium } from '#test/support/browser.ts'
import { openGatewayTestbed, type GatewayTestbed } from '#test/support/gateway-testbed.ts'
import { NodeChild } from '#test/support/node-child.ts'
import { waitFor } from '#test/support/wait-for.ts'

const ARTIFACTS = join(import.meta.dirname, '../../../test-artifacts/dashboard')
const logger = createLogger('it-pipeline', { level: 'silent' })
const STORAGE_PASSWORD = 'pipeline-storage-secret'

let bed: GatewayTestbed
let processor: StreamProcessor
let processorMetrics: MetricsServer | undefined
let executor: ChdbExecutor
let storage: FastifyInstance
let storageClient: ClickHouseClient
let api: FastifyInstance
let agent: NodeChild
let spy: Server
let spyRequests = 0
const urls = { gateway: '', processor: '', agent: '', storage: '', api: '', down: '', spy: '' }
let operatorKey = ''
let readKey = ''
let adminKey = ''
const dir = mkdtempSync(join(tmpdir(), 'procstream-it-pipeline-'))

async function metricsOf(url: string): Promise<{ page: ParsedExposition; type: string | null }> {
  const res = await fetch(url)
  expect(res.status).toBe(200)
  return { page: parseExposition(await res.text()), type: res.headers.get('content-type') }
}

async function pipeline(key: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${urls.api}/api/v1/pipeline`, { headers: { authorization: `Bearer ${key}` } })
  return { status: res.status, body: await res.json() }
}

beforeAll(async () => {
  bed = await openGatewayTestbed('pipeline', { partitions: 2 })
  const [agentPort, downPort, apiPort] = await findFreePorts(3)
  const config = { ...bed.config, metricsListen: { host: '127.0.0.1', port: 0 } }
  processor = await startProcessor({
    config,
    kafka: createKafka(bed.brokers, 'it-pipeline-processor', logger),
    clickhouse: bed.clickhouse,
    logger,
  })
  processorMetrics = await serveProcessorMetrics(processor, config, logger)

  executor = new ChdbExecutor(bed.config.clickhouse.embeddedPath)
  storage = buildStorageServer({
    executor,
    credentials: { user: 'default', password: STORAGE_PASSWORD },
    maxBodyBytes: 1024 * 1024,
    logger,
    loopbackOnly: true,
  })
  urls.storage = await storage.listen({ host: '127.0.0.1', port: 0 })
  storageClient = await createClickHouse({
    url: urls.storage,
    user: 'default',
    password: STORAGE_PASSWORD,
    database: bed.config.clickhouse.database,
    embeddedPath: '',
  })

  // Counts every request: a forbidden caller must make no target do any work.
  spy = createServer((_req, res) => {
    spyRequests++
    res.writeHead(200, { 'content-type': 'text/plain' }).end('spy_up 1\n')
  })
  await new Promise<void>((done) => spy.listen(0, '127.0.0.1', done))
  const spyAddress = spy.address()
  if (spyAddress === null || typeof spyAddress === 'string') throw new Error('no spy port')

  urls.gateway = bed.gateway.url
  urls.processor = `http://${processorMetrics?.address ?? ''}`
  urls.agent = `http://127.0.0.1:${String(agentPort)}`
  urls.down = `http://127.0.0.1:${String(downPort)}`
  urls.spy = `http://127.0.0.1:${String(spyAddress.port)}`
  urls.api = `http://127.0.0.1:${String(apiPort)}`

  operatorKey = await bed.key('ops', ['operator'])
  readKey = await bed.key('acme', ['read', 'sql'])
  adminKey = await bed.key('acme', ['admin'])
  api = await buildQueryApi({
    clickhouse: bed.clickhouse,
    database: bed.config.clickhouse.database,
    keys: bed.auth,
    readiness: [],
    logger,
    maxPoints: 11_000,
    pipeline: {
      targets: [
        { name: 'gateway', url: `${urls.gateway}/metrics` },
        { name: 'processor', url: `${urls.processor}/metrics` },
        { name: 'agent', url: `${urls.agent}/metrics` },
        { name: 'query-api', url: `${urls.api}/metrics` },
        { name: 'storage', url: `${urls.storage}/metrics` },
        { name: 'nothing-there', url: `${urls.down}/metrics` },
        { name: 'spy', url: `${urls.spy}/metrics` },
      ],
      timeoutMs: 1_500,
    },
  })
  await api.listen({ host: '127.0.0.1', port: apiPort })

  const keyFile = join(dir, 'agent.key')
  writeFileSync(keyFile, `${await bed.key('acme', ['ingest'])}\n`, { mode: 0o600 })
  mkdirSync(join(dir, 'spool'))
  agent = NodeChild.start(
    'agent/src/main.ts',
    [
      ...['--interval', '500', '--host-id', 'pipeline-host', '--ingest', bed.gateway.url],
      ...['--key-file', keyFile, '--spool-dir', join(dir, 'spool')],
      ...['--metrics-listen', `127.0.0.1:${String(agentPort)}`],
    ],
    { KAFKA_BROKERS: undefined },
  )
  await waitFor('the processor to store the agent’s envelopes', () =>
    Promise.resolve(processor.stats.envelopes > 20 ? true : undefined),
  )
  // A poison record, straight to Kafka (the gateway would refuse it): the processor dead-letters it.
  const producer = createKafka(bed.brokers, 'it-pipeline-poison', logger).producer()
  await producer.connect()
  await producer.send({
    topic: bed.config.topic,
    messages: [{ key: 'acme/poison', value: Buffer.from('not avro at all') }],
  })
  await producer.disconnect()
}, 120_000)

afterAll(async () => {
  await agent.kill()
  await api.close()
  await storageClient.close()
  await storage.close()
  executor.close()
  await processorMetrics?.close()
  await processor.stop()
  await new Promise((done) => spy.close(done))
  await bed.close()
  rmSync(dir, { recursive: true, force: true })
}, 60_000)

describe('every component serves /metrics', () => {
  const buildInfo = (page: ParsedExposition, component: string): void => {
    expect(samplesOf(page, 'procstream_build_info')).toEqual([
      { name: 'procstream_build_info', labels: { component, version: VERSION }, value: 1 },
    ])
    const start = sumOf(page, 'process_start_time_seconds') ?? 0
    expect(start).toBeGreaterThan(Date.now() / 1000 - 3_600)
    expect(start).toBeLessThanOrEqual(Date.now() / 1000)
  }

  it('the gateway: build info, and the records it took from the agent', async () => {
    const { page, type } = await metricsOf(`${urls.gateway}/metrics`)
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8')
    buildInfo(page, 'gateway')
    expect(sumOf(page, 'procstream_ingest_records_total')).toBeGreaterThan(0)
    const answered = samplesOf(page, 'procstream_ingest_requests_total')
    expect(
      answered.filter((a) => a.labels.code?.startsWith('2')).reduce((n, a) => n + a.value, 0),
    ).toBeGreaterThan(0)
  })

  it('the processor: build info, envelopes stored, the agents it reads counted without names', async () => {
    const { page } = await metricsOf(`${urls.processor}/metrics`)
    buildInfo(page, 'processor')
    expect(sumOf(page, 'procstream_processor_envelopes_total')).toBeGreaterThan(20)
    expect(sumOf(page, 'procstream_processor_agents', { state: 'reporting' })).toBe(1)
    for (const s of page.samples) expect(Object.values(s.labels)).not.toContain('pipeline-host')
  })

  it('the agent: build info and its records sent', async () => {
    const { page, type } = await metricsOf(`${urls.agent}/metrics`)
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8')
    buildInfo(page, 'agent')
    expect(sumOf(page, 'procstream_agent_records_sent_total')).toBeGreaterThan(0)
  })

  it('the query API: without a key, requests by route and status, no tenant anywhere', async () => {
    await fetch(`${urls.api}/api/hosts`, { headers: { authorization: `Bearer ${readKey}` } })
    await fetch(`${urls.api}/api/hosts`)
    const { page, type } = await metricsOf(`${urls.api}/metrics`)
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8')
    buildInfo(page, 'query-api')
    expect(sumOf(page, 'procstream_query_api_requests_total', { route: '/api/hosts', code: '200' })).toBe(1)
    expect(sumOf(page, 'procstream_query_api_requests_total', { route: '/api/hosts', code: '401' })).toBe(1)
    expect(sumOf(page, 'procstream_query_api_request_duration_seconds_count')).toBeGreaterThanOrEqual(2)
    expect(sumOf(page, 'process_resident_memory_bytes')).toBeGreaterThan(0)
    for (const s of page.samples) {
      expect(Object.keys(s.labels)).not.toContain('tenant')
      expect(Object.values(s.labels)).not.toContain('acme')
    }
  })

  it('the storage server: without its password, statements by kind and outcome, refusals', async () => {
    const table = `${bed.config.clickhouse.database}.pipeline_probe`
    await storageClient.command({ query: `CREATE TABLE IF NOT EXISTS ${table} (x UInt8) ENGINE = Memory` })
    await storageClient.insert({ table, values: [{ x: 1 }], format: 'JSONEachRow' })
    // Sent without the client, which would log the failure it is meant to cause.
    const failing = await fetch(
      `${urls.storage}/?query=${encodeURIComponent('SELECT * FROM no_such_table')}`,
      {
        headers: { authorization: `Basic ${Buffer.from(`default:${STORAGE_PASSWORD}`).toString('base64')}` },
      },
    )
    expect(failing.status).toBe(404)
    expect((await fetch(`${urls.storage}/?query=SELECT%201`)).status).toBe(403)
    const { page, type } = await metricsOf(`${urls.storage}/metrics`)
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8')
    buildInfo(page, 'storage')
    expect(sumOf(page, 'procstream_storage_statements_total', { kind: 'insert', outcome: 'ok' })).toBe(1)
    expect(
      sumOf(page, 'procstream_storage_statements_total', { kind: 'query', outcome: 'ok' }),
    ).toBeGreaterThan(0)
    expect(sumOf(page, 'procstream_storage_statements_total', { kind: 'query', outcome: 'error' })).toBe(1)
    expect(sumOf(page, 'procstream_storage_refused_total')).toBeGreaterThanOrEqual(1)
    expect(sumOf(page, 'procstream_storage_received_bytes_total')).toBeGreaterThan(0)
    // A web page cannot read it (DNS rebinding), password or not.
    expect((await fetch(`${urls.storage}/metrics`, { headers: { origin: 'http://evil' } })).status).toBe(403)
  })
})

describe('GET /api/v1/pipeline', () => {
  it('refuses keys without the operator scope before reading any component', async () => {
    const selfBefore = sumOf(
      (await metricsOf(`${urls.api}/metrics`)).page,
      'procstream_query_api_requests_total',
      {
        route: '/metrics',
      },
    )
    for (const key of [readKey, adminKey]) {
      const { status, body } = await pipeline(key)
      expect(status).toBe(403)
      expect(body).toEqual({ error: 'this API key lacks the operator scope', code: 'FORBIDDEN' })
    }
    expect((await pipeline('psk_000000000000_nope')).status).toBe(401)
    expect(spyRequests).toBe(0)
    // Its own /metrics was not read either: only the read above (counted once it was answered).
    const selfAfter = sumOf(
      (await metricsOf(`${urls.api}/metrics`)).page,
      'procstream_query_api_requests_total',
      {
        route: '/metrics',
      },
    )
    expect(selfAfter).toBe((selfBefore ?? 0) + 1)
  })

  it('shows every component with its version and uptime, the down one with its reason, and rates from the second read', async () => {
    const first = await pipeline(operatorKey)
    expect(first.status).toBe(200)
    const s1 = first.body as PipelineSummary
    expect(spyRequests).toBe(1)
    const byName = new Map(s1.components.map((c) => [c.name, c]))
    for (const name of ['gateway', 'processor', 'agent', 'query-api', 'storage'])
      expect(byName.get(name)).toMatchObject({ up: true, component: name, version: VERSION })
    expect(byName.get('processor')?.uptime_s).toBeGreaterThanOrEqual(0)
    expect(byName.get('nothing-there')).toEqual({
      name: 'nothing-there',
      url: `${urls.down}/metrics`,
      up: false,
      component: null,
      version: null,
      uptime_s: null,
      error: 'cannot connect: ECONNREFUSED',
    })
    // Up, but not one of ours: no build info.
    expect(byName.get('spy')).toMatchObject({ up: true, component: null, version: null })
    expect(s1.ingest.note).toBe('rate available from the next refresh')
    expect(s1.agents.scraped).toEqual([expect.objectContaining({ name: 'agent', spooling: false })])

    await new Promise((done) => setTimeout(done, 1_500))
    const s2 = (await pipeline(operatorKey)).body as PipelineSummary
    expect(s2.ingest.note).toBeUndefined()
    expect(s2.ingest.records.per_s).toBeGreaterThan(0)
    expect(s2.ingest.bytes.per_s).toBeGreaterThan(0)
    expect(s2.ingest.window_s).toBeGreaterThanOrEqual(1)
    expect(s2.agents.counts).toMatchObject({ reporting: 1, spooling: 0 })
    expect(s2.freshness.p99_s).toBeGreaterThan(0)
  })
})

describe('the pipeline view', () => {
  it('renders the components, lag and dead letters from the API for an operator key', async () => {
    const browser = await launchChromium()
    try {
      const context = await browser.newContext({
        viewport: { width: 1440, height: 1000 },
        colorScheme: 'light',
      })
      const page = await context.newPage()
      await page.goto(`${urls.api}/#key=${operatorKey}`)
      // An operator key reads no tenant: the page opens the pipeline view for it.
      await page.waitForFunction(
        `document.querySelectorAll('#pipeline .pipeline-table tbody tr').length >= 7`,
        undefined,
        { timeout: 15_000 },
      )
      expect(await page.locator('#nav-pipeline').isVisible()).toBe(true)
      expect(new URL(page.url()).hash).toBe('#pipeline')
      const rows = await page
        .locator('#pipeline .pipeline-table')
        .first()
        .locator('tbody tr')
        .allTextContents()
      expect(rows.find((r) => r.startsWith('gateway'))).toContain(VERSION)
      expect(rows.find((r) => r.startsWith('nothing-there'))).toContain('down: cannot connect: ECONNREFUSED')
      const reason = await waitFor('the poison record in the summary', async () => {
        const { dead_letters: deadLetters } = (await pipeline(operatorKey)).body as PipelineSummary
        return deadLetters.by_reason[0]?.reason
      })
      await page.waitForFunction(
        `document.querySelector('#pipeline').textContent.includes(${JSON.stringify(reason)})`,
      )
      mkdirSync(ARTIFACTS, { recursive: true })
      await page.screenshot({ path: join(ARTIFACTS, 'pipeline.png'), fullPage: true })
      // The dark theme, for a look at its colours (the test asserts the rows only).
      const dark = await browser.newContext({ viewport: { width: 1440, height: 1000 }, colorScheme: 'dark' })
      const darkPage = await dark.newPage()
      await darkPage.goto(`${urls.api}/#key=${operatorKey}`)
      await darkPage.waitForFunction(
        `document.querySelectorAll('#pipeline .pipeline-table tbody tr').length >= 7`,
        undefined,
        { timeout: 15_000 },
      )
      await darkPage.screenshot({ path: join(ARTIFACTS, 'pipeline-dark.png'), fullPage: true })

      // A read key sees no pipeline link.
      const reader = await context.newPage()
      await reader.goto(`${urls.api}/#key=${readKey}`)
      await reader.waitForFunction(
        `document.querySelector('#controls') && !document.querySelector('#controls').hidden`,
      )
      expect(await reader.locator('#nav-pipeline').isHidden()).toBe(true)
    } finally {
      await browser.close()
    }
  }, 45_000)
})

// Last: it stops the agent.
describe('GET /api/v1/pipeline at rest', () => {
  it("agrees with the processor's own page: dead letters by reason after a poison record, lag per partition, freshness", async () => {
    await waitFor('the poison record dead-lettered', () =>
      Promise.resolve(Object.keys(processor.stats.rejected).length > 0 ? true : undefined),
    )
    // The agent stops, so the group catches up and both pages are read at rest.
    await agent.kill()
    await waitFor('the group to catch up', async () => {
      const lag = samplesOf(
        (await metricsOf(`${urls.processor}/metrics`)).page,
        'procstream_processor_consumer_lag_messages',
      )
      return lag.length === 2 && lag.every((s) => s.value === 0) ? true : undefined
    })
    // Two reads a second apart at rest: nothing was stored between them, so freshness is over all.
    await pipeline(operatorKey)
    await new Promise((done) => setTimeout(done, 1_100))
    const summary = (await pipeline(operatorKey)).body as PipelineSummary
    const own = (await metricsOf(`${urls.processor}/metrics`)).page

    expect(summary.dead_letters.by_reason).toEqual(
      samplesOf(own, 'procstream_processor_dead_letters_total').map((s) => ({
        reason: s.labels.reason,
        count: s.value,
      })),
    )
    expect(summary.dead_letters.by_reason.reduce((n, r) => n + r.count, 0)).toBe(1)
    const ownLag = (name: string, group: string) =>
      samplesOf(own, name).map((s) => ({ group, partition: Number(s.labels.partition), messages: s.value }))
    expect(summary.lag).toEqual([
      ...ownLag('procstream_processor_consumer_lag_messages', 'raw'),
      ...ownLag('procstream_processor_tier_lag_messages', 'tiers'),
    ])
    expect(summary.lag.filter((l) => l.group === 'raw')).toHaveLength(2)
    expect(summary.freshness.window).toBe('since_start')
    expect(summary.freshness.observations).toBe(sumOf(own, 'procstream_processor_freshness_seconds_count'))

    // The stopped agent is down, with the reason; the page still answers for the rest.
    const agentRow = summary.components.find((c) => c.name === 'agent')
    expect(agentRow).toMatchObject({ up: false, error: 'cannot connect: ECONNREFUSED' })
    expect(summary.components.find((c) => c.name === 'processor')?.up).toBe(true)
  }, 60_000)
})
