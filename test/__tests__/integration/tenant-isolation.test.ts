/**
 * Two tenants with hosts of the same names, end to end: agents' records go through the ingest gateway
 * (one of them claiming the other tenant in every envelope), the processor stores them, and every read
 * path shows each tenant only its own: host lists, series, live subjects. A key of tenant A cannot
 * write as tenant B and cannot read at all without the read scope.
 */
import type { FastifyInstance } from 'fastify'
import type { Kafka } from 'kafkajs'
import type { NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { buildQueryApi } from '../../../query-api/src/server.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { Envelope } from '#schemas/src/families.ts'
import type { StreamProcessor } from '../../../stream-processors/src/processor.ts'
import { LIVE_SUBJECT_PREFIX, type LiveMessage } from '#schemas/src/live.ts'
import { startProcessor } from '../../../stream-processors/src/service.ts'
import { loadEnvelope } from '../../support/envelopes.ts'
import { openGatewayTestbed, type GatewayTestbed } from '../../support/gateway-testbed.ts'
import { waitFor } from '../../support/wait-for.ts'
import { connectService } from '../../support/nats.ts'

const logger = createLogger('it-isolation', { level: 'error' })
const codec = envelopeCodec()
const HOSTS = ['web-1', 'db-1']
/** globex also has a host acme has not: it must not appear in acme's list. */
const GLOBEX_HOSTS = [...HOSTS, 'cache-9']
const SAMPLES = 5
/** Each tenant's load1 value, so any row shows whose it is. */
const LOAD = { acme: 1.5, globex: 7.25 } as const

let bed: GatewayTestbed
let kafka: Kafka
let processor: StreamProcessor
let api: FastifyInstance
let apiUrl = ''
let nc: NatsConnection
const keys = { acmeIngest: '', acmeRead: '', globexIngest: '', globexRead: '' }
const live: { subject: string; message: LiveMessage }[] = []

beforeAll(async () => {
  bed = await openGatewayTestbed('isolation', { partitions: 2 })
  keys.acmeIngest = await bed.key('acme', ['ingest'])
  keys.acmeRead = await bed.key('acme', ['read', 'sql'])
  keys.globexIngest = await bed.key('globex', ['ingest'])
  keys.globexRead = await bed.key('globex', ['read', 'sql'])
  nc = await connectService('it-tenant-isolation')
  const sub = nc.subscribe(`${LIVE_SUBJECT_PREFIX}.>`)
  void (async () => {
    for await (const m of sub) live.push({ subject: m.subject, message: m.json<LiveMessage>() })
  })()
  kafka = createKafka(bed.brokers, 'it-isolation', logger)
  processor = await startProcessor({
    config: bed.config,
    kafka,
    clickhouse: bed.clickhouse,
    logger,
    nats: nc,
  })
  api = await buildQueryApi({
    clickhouse: bed.clickhouse,
    sqlClickhouse: bed.sqlClickhouse,
    database: bed.config.clickhouse.database,
    keys: bed.auth,
    logger,
    maxPoints: 1000,
    readiness: [],
  })
  apiUrl = await api.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await api.close()
  await processor.stop()
  await nc.drain()
  await bed.close()
})

function samples(claimedTenant: string, load1: number, hosts: string[]): Buffer {
  const now = Date.now()
  const envs: Envelope[] = hosts.flatMap((host) =>
    Array.from({ length: SAMPLES }, (_, seq) =>
      loadEnvelope(
        {
          tenant: claimedTenant,
          host_id: host,
          hostname: host,
          agent_id: `agent-${host}`,
          seq,
          ts_us: (now - (SAMPLES - seq) * 1000) * 1000,
        },
        load1,
      ),
    ),
  )
  return Buffer.concat(envs.map((e) => codec.encode(e)))
}

async function ingest(key: string, body: Buffer): Promise<unknown> {
  const res = await fetch(`${bed.gateway.url}/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/vnd.procstream.avro' },
    body,
  })
  return res.json()
}

async function read(key: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${key}` } })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('tenant isolation, gateway to query API', () => {
  it('stores each tenant’s hosts under the key’s tenant and shows each tenant only its own', async () => {
    // acme's agent claims to be globex in every envelope; globex's claims nothing odd.
    expect(await ingest(keys.acmeIngest, samples('globex', LOAD.acme, HOSTS))).toEqual({
      accepted: 10,
      tenant: 'acme',
    })
    expect(await ingest(keys.globexIngest, samples('globex', LOAD.globex, GLOBEX_HOSTS))).toEqual({
      accepted: 15,
      tenant: 'globex',
    })

    await waitFor('both tenants’ samples to be stored', async () => {
      const rs = await bed.clickhouse.query({
        query: `SELECT tenant, count() AS n FROM ${bed.config.clickhouse.database}.sample_log GROUP BY tenant ORDER BY tenant`,
        format: 'JSONEachRow',
      })
      const rows = await rs.json<{ tenant: string; n: string }>()
      return rows.map((r) => `${r.tenant}:${r.n}`).join() ===
        `acme:${String(2 * SAMPLES)},globex:${String(3 * SAMPLES)}`
        ? rows
        : undefined
    })

    for (const [tenant, key, own] of [
      ['acme', keys.acmeRead, HOSTS],
      ['globex', keys.globexRead, GLOBEX_HOSTS],
    ] as const) {
      const hosts = await read(key, '/api/hosts')
      expect(hosts.status).toBe(200)
      expect((hosts.body.hosts as { host_id: string }[]).map((h) => h.host_id).sort()).toEqual(
        [...own].sort(),
      )
      for (const host of HOSTS) {
        const to = Date.now() + 60_000
        const series = await read(
          key,
          `/api/series?host=${host}&metric=node_load1&from=${String(to - 3_600_000)}&to=${String(to)}&points=1000`,
        )
        expect(series.status, JSON.stringify(series.body)).toBe(200)
        const values = (series.body.series as { values: (number | null)[] }[])
          .flatMap((s) => s.values)
          .filter((v) => v !== null)
        expect(values.length, `${tenant} ${host}`).toBeGreaterThan(0)
        expect(new Set(values), `${tenant} ${host}`).toEqual(new Set([LOAD[tenant]]))
      }
    }

    // The Prometheus API and SQL: every read path shows the key's tenant only, whatever it asks.
    const now = Date.now() / 1000
    for (const [tenant, key, own] of [
      ['acme', keys.acmeRead, HOSTS],
      ['globex', keys.globexRead, GLOBEX_HOSTS],
    ] as const) {
      const sorted = [...own].sort()
      for (const query of [
        'node_load1',
        'node_load1{tenant="globex"} or node_load1',
        'max by (host) (node_load1)',
      ]) {
        const instant = await read(
          key,
          `/api/v1/query?query=${encodeURIComponent(query)}&time=${String(now)}`,
        )
        const result = (
          instant.body.data as { result: { metric: { host: string }; value: [number, string] }[] }
        ).result
        expect(result.map((r) => r.metric.host).sort(), `${tenant} ${query}`).toEqual(sorted)
        expect(new Set(result.map((r) => Number(r.value[1]))), `${tenant} ${query}`).toEqual(
          new Set([LOAD[tenant]]),
        )
      }
      const range = await read(
        key,
        `/api/v1/query_range?query=node_load1&start=${String(now - 600)}&end=${String(now)}&step=5`,
      )
      const matrix = (
        range.body.data as { result: { metric: { host: string }; values: [number, string][] }[] }
      ).result
      expect(matrix.map((r) => r.metric.host).sort()).toEqual(sorted)
      expect(new Set(matrix.flatMap((r) => r.values.map((v) => Number(v[1]))))).toEqual(
        new Set([LOAD[tenant]]),
      )
      const span = `start=${String(now - 3600)}&end=${String(now + 60)}`
      const series = await read(
        key,
        `/api/v1/series?match[]=${encodeURIComponent('{__name__=~".+"}')}&${span}`,
      )
      expect([...new Set((series.body.data as { host: string }[]).map((l) => l.host))].sort()).toEqual(sorted)
      for (const label of ['host', 'instance']) {
        const values = await read(key, `/api/v1/label/${label}/values?${span}`)
        expect(values.body.data, `${tenant} ${label} values`).toEqual(sorted)
      }
      const sql = await fetch(`${apiUrl}/api/v1/sql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' },
        body: "SELECT DISTINCT host, value FROM metrics WHERE metric = 'node_load1' ORDER BY host",
      })
      expect(((await sql.json()) as { rows: unknown[][] }).rows).toEqual(sorted.map((h) => [h, LOAD[tenant]]))
    }

    // Live points go out on the storing tenant's subjects only, each carrying that tenant's values.
    await waitFor('live points of both tenants', () =>
      Promise.resolve(new Set(live.map((l) => l.message.tenant)).size === 2 ? true : undefined),
    )
    for (const { subject, message } of live) {
      expect(subject.startsWith(`${LIVE_SUBJECT_PREFIX}.${message.tenant}.`)).toBe(true)
      const load1 = message.points.filter((p) => p[0] === 'node_load1').map((p) => p[3])
      expect(new Set(load1)).toEqual(new Set([LOAD[message.tenant as keyof typeof LOAD]]))
    }
  })

  it('lets no key read without the read scope, nor read another tenant by asking for it', async () => {
    const ingestOnly = await read(keys.acmeIngest, '/api/hosts')
    expect(ingestOnly).toEqual({
      status: 403,
      body: { error: 'this API key lacks the read scope', code: 'FORBIDDEN' },
    })
    // Parameters naming another tenant are not parameters at all: the tenant is the key's.
    const sneaky = await read(keys.acmeRead, '/api/hosts?tenant=globex')
    expect((sneaky.body.hosts as { host_id: string }[]).map((h) => h.host_id).sort()).toEqual([
      'db-1',
      'web-1',
    ])
    const missing = await read(keys.acmeRead, '/api/series?host=cache-9&metric=node_load1')
    expect((missing.body.series as unknown[]).length).toBe(0)
    const to = Date.now() + 60_000
    const series = await read(
      keys.acmeRead,
      `/api/series?host=web-1&metric=node_load1&tenant=globex&from=${String(to - 3_600_000)}&to=${String(to)}`,
    )
    const values = (series.body.series as { values: (number | null)[] }[])
      .flatMap((s) => s.values)
      .filter((v) => v !== null)
    expect(new Set(values)).toEqual(new Set([LOAD.acme]))
  })
})
