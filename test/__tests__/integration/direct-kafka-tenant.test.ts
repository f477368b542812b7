/**
 * Agents that produce straight to Kafka with their tenant's own SASL/SCRAM credentials: the broker's
 * ACLs let tenant acme write only to acme's topic, and the processor of that topic stores only acme.
 * A real broker with SCRAM and ACLs, the real agent process, the real processor into embedded
 * ClickHouse. acme's credentials cannot write to another tenant's topic (the broker refuses) and
 * cannot write as another tenant on their own topic (the processor dead-letters it).
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  logLevel,
  ResourcePatternTypes,
} from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureTopics, startKafka, type LocalKafka } from '../../../deploy/local/kafka.ts'
import { findFreePortPair } from '../../../deploy/local/ports.ts'
import { createClickHouse } from '#platform/clickhouse.ts'
import { createKafka } from '#platform/kafka.ts'
import { sampleKey, SAMPLES_TOPIC } from '#schemas/src/kafka-topic.ts'
import { createLogger } from '#platform/logger.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { readProcessorConfig } from '../../../stream-processors/src/config.ts'
import type { StreamProcessor } from '../../../stream-processors/src/processor.ts'
import { startProcessor } from '../../../stream-processors/src/service.ts'
import { loadEnvelope } from '../../support/envelopes.ts'
import { NodeChild } from '../../support/node-child.ts'
import { topicEnd } from '../../support/topic.ts'
import { waitFor } from '../../support/wait-for.ts'

const logger = createLogger('it-direct-tenant', { level: 'error' })
const users = {
  admin: { username: 'procstream-admin', password: randomBytes(12).toString('hex') },
  acme: { username: 'acme', password: randomBytes(12).toString('hex') },
  globex: { username: 'globex', password: randomBytes(12).toString('hex') },
}
const topicOf = (tenant: string): string => `${SAMPLES_TOPIC}.tenant.${tenant}`
const HOST_ID = `direct-${String(process.pid)}`

let dir = ''
let broker: LocalKafka | undefined
let clickhouse: ClickHouseClient | undefined
let processor: StreamProcessor | undefined
let agent: NodeChild | undefined

function clientAs(user: { username: string; password: string }): Kafka {
  return new Kafka({
    clientId: `it-direct-${user.username}`,
    brokers: broker?.brokers ?? [],
    sasl: { mechanism: 'scram-sha-512', ...user },
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100 },
  })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'procstream-direct-tenant-'))
  const [port, controllerPort] = await findFreePortPair()
  broker = await startKafka({
    dataDir: join(dir, 'kafka'),
    port,
    controllerPort,
    partitions: 1,
    scram: { admin: users.admin, users: [users.acme, users.globex] },
  })
  await ensureTopics(
    broker.brokers,
    ['acme', 'globex'].flatMap((t) => [
      { name: topicOf(t), partitions: 2 },
      { name: `${topicOf(t)}.dead-letters`, partitions: 1 },
    ]),
    broker.security,
  )
  // What deploy/kafka/TENANTS.md tells an operator to run for each tenant.
  const admin = clientAs(users.admin).admin()
  await admin.connect()
  try {
    await admin.createAcls({
      acl: ['acme', 'globex'].flatMap((tenant) =>
        [AclOperationTypes.WRITE, AclOperationTypes.DESCRIBE].map((operation) => ({
          resourceType: AclResourceTypes.TOPIC,
          resourceName: topicOf(tenant),
          resourcePatternType: ResourcePatternTypes.LITERAL,
          principal: `User:${tenant}`,
          host: '*',
          operation,
          permissionType: AclPermissionTypes.ALLOW,
        })),
      ),
    })
  } finally {
    await admin.disconnect()
  }
})

afterAll(async () => {
  await agent?.kill()
  await processor?.stop()
  await clickhouse?.close()
  await broker?.stop()
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

describe('direct produce with per-tenant SCRAM credentials', () => {
  it(
    'lets a tenant write only its own topic, and stores only that tenant from it',
    { timeout: 180_000 },
    async () => {
      const brokers = (broker as LocalKafka).brokers
      const acmeTopic = topicOf('acme')

      // The real agent, with acme's credentials, produces to acme's topic at 10 Hz.
      const passwordFile = join(dir, 'acme.password')
      await writeFile(passwordFile, `${users.acme.password}\n`, { mode: 0o600 })
      agent = NodeChild.start(
        'agent/src/main.ts',
        [
          '--interval',
          '100',
          '--host-id',
          HOST_ID,
          '--tenant',
          'acme',
          '--brokers',
          brokers.join(','),
          '--topic',
          acmeTopic,
          '--sasl-mechanism',
          'scram-sha-512',
          '--sasl-username',
          'acme',
          '--sasl-password-file',
          passwordFile,
          '--metrics-listen',
          'off',
        ],
        { KAFKA_BROKERS: undefined },
      )
      await waitFor('the agent to produce with its SCRAM credentials', async () =>
        (await topicEnd(brokers, acmeTopic, broker?.security)) > 0 ? true : undefined,
      )

      // acme's credentials against globex's topic: the broker refuses, nothing lands there.
      const acme = clientAs(users.acme).producer({ idempotent: true, maxInFlightRequests: 1 })
      await acme.connect()
      const codec = envelopeCodec()
      try {
        await expect(
          acme.send({
            topic: topicOf('globex'),
            acks: -1,
            messages: [
              { key: sampleKey('globex', 'web-1'), value: codec.encode(loadEnvelope({ tenant: 'globex' })) },
            ],
          }),
        ).rejects.toThrow(/not authorized|authorization/i)
        // ... and on its own topic, a key and envelope naming globex: accepted by the broker (ACLs
        // cannot see keys), refused by the processor.
        await acme.send({
          topic: acmeTopic,
          acks: -1,
          messages: [
            {
              key: sampleKey('globex', 'web-1'),
              value: codec.encode(loadEnvelope({ tenant: 'globex', ts_us: Date.now() * 1000 })),
            },
          ],
        })
      } finally {
        await acme.disconnect()
      }
      expect(await topicEnd(brokers, topicOf('globex'), broker?.security)).toBe(0)
      // A wrong password does not get in at all.
      const intruder = clientAs({ username: 'acme', password: 'wrong' }).producer()
      await expect(intruder.connect()).rejects.toThrow(/SASL|authentication/i)

      await new Promise((r) => setTimeout(r, 1_500))
      expect(await agent.stop()).toBe(0)
      const stopped = agent.logLines().find((l) => l.msg === 'agent stopped')
      expect(stopped).toMatchObject({ droppedRecords: 0, queuedRecords: 0 })

      // The processor of acme's topic, pinned to acme, with the processors' own credentials.
      const config = readProcessorConfig(
        {
          KAFKA_TOPIC: acmeTopic,
          PROCESSOR_TOPIC_TENANT: 'acme',
          PROCESSOR_GROUP_ID: 'it-direct-acme',
          CLICKHOUSE_DATABASE: 'direct_tenant',
          PROCESSOR_METRICS_LISTEN: 'off',
          KAFKA_SASL_MECHANISM: 'scram-sha-512',
          KAFKA_SASL_USERNAME: users.admin.username,
          KAFKA_SASL_PASSWORD: users.admin.password,
        },
        join(dir, 'clickhouse'),
        { brokers },
      )
      clickhouse = await createClickHouse(config.clickhouse)
      const kafka = createKafka(brokers, 'it-direct-processor', logger, config.kafkaSecurity)
      processor = await startProcessor({ config, kafka, clickhouse, logger })
      const running = processor
      await waitFor('the processor to drain acme’s topic', async () =>
        (await running.lag()).every((p) => p.messages === 0) ? true : undefined,
      )

      const rs = await clickhouse.query({
        query: `SELECT tenant, host, count() AS n, uniqExact(seq) AS seqs FROM direct_tenant.sample_log GROUP BY tenant, host`,
        format: 'JSONEachRow',
      })
      const stored = await rs.json<{
        tenant: string
        host: string
        n: number | string
        seqs: number | string
      }>()
      // Every record the agent sent, once each, under acme; nothing of the globex-keyed message.
      const sent = Number(stopped?.sentRecords)
      expect(sent).toBeGreaterThan(0)
      expect(stored.map((r) => ({ ...r, n: Number(r.n), seqs: Number(r.seqs) }))).toEqual([
        { tenant: 'acme', host: HOST_ID, n: sent, seqs: sent },
      ])
      expect(running.stats.rejected).toEqual({ TOPIC_TENANT_MISMATCH: 1 })
    },
  )
})
