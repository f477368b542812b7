/**
 * Per-tenant Kafka credentials hold on a real broker: with SCRAM and ACLs on, each tenant's user
 * writes to its own topic only, cannot even see the other's, and a wrong or missing login gets
 * nothing at all.
 */
import { randomBytes } from 'node:crypto'
import { readdir, readFile, rm, stat, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  ResourcePatternTypes,
  logLevel,
  type AclEntry,
  type KafkaConfig,
} from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findFreePortPair } from '../../ports.ts'
import { ensureTopics, startKafka, type LocalKafka, type ScramUser } from '../../kafka.ts'

const TENANTS = ['acme', 'globex'] as const
type Tenant = (typeof TENANTS)[number]

const topicOf = (tenant: Tenant): string => `samples.tenant.${tenant}`
const password = (): string => randomBytes(24).toString('base64url')

// Every character the broker's parsers treat specially but still accept, to prove none is mangled.
const admin: ScramUser = { username: 'admin', password: `${password()}#='$!]&*` }
const users: Record<Tenant, ScramUser> = {
  acme: { username: 'acme', password: password() },
  globex: { username: 'globex', password: password() },
}

function client(
  brokers: string[],
  sasl: KafkaConfig['sasl'],
  retry: KafkaConfig['retry'] = { retries: 0 },
): Kafka {
  return new Kafka({
    clientId: 'it-kafka-scram',
    brokers,
    ...(sasl && { sasl }),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry,
  })
}

const scram512 = (u: ScramUser): KafkaConfig['sasl'] => ({
  mechanism: 'scram-sha-512',
  username: u.username,
  password: u.password,
})

/** The ACLs a tenant's producer needs on its own topic, and nothing else. */
function tenantAcls(tenant: Tenant): AclEntry[] {
  return [AclOperationTypes.WRITE, AclOperationTypes.DESCRIBE].map((operation) => ({
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topicOf(tenant),
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: `User:${users[tenant].username}`,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  }))
}

describe('local Kafka broker with SASL/SCRAM and ACLs', () => {
  let dir: string
  let dataDir: string
  let k: LocalKafka

  async function topicEnd(topic: string): Promise<number> {
    const a = client(k.brokers, scram512(admin)).admin()
    await a.connect()
    try {
      return (await a.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0)
    } finally {
      await a.disconnect()
    }
  }

  /** Sends one message as `user` with an idempotent producer (which needs WRITE, implied or not). */
  async function produce(sasl: KafkaConfig['sasl'], topic: string, value: string): Promise<void> {
    // kafkajs refuses an idempotent producer that may not retry; authorization errors are not retried.
    const producer = client(k.brokers, sasl, { retries: 1, initialRetryTime: 100 }).producer({
      idempotent: true,
      maxInFlightRequests: 1,
    })
    try {
      await producer.connect()
      await producer.send({ topic, acks: -1, messages: [{ key: 'host-1', value }] })
    } finally {
      await producer.disconnect()
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'procstream-kafka-scram-it-'))
    dataDir = join(dir, 'kafka')
    const [port, controllerPort] = await findFreePortPair()
    const started = Date.now()
    k = await startKafka({
      dataDir,
      port,
      controllerPort,
      partitions: 1,
      scram: { admin, users: Object.values(users) },
    })
    console.log(`kafka (SCRAM) start-to-ready: ${Date.now() - started} ms`)
  })

  afterAll(async () => {
    await k.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('hands out the admin credentials as the client security', () => {
    expect(k.security).toEqual({
      sasl: { mechanism: 'scram-sha-512', username: admin.username, password: admin.password },
    })
  })

  it('lets the admin create the tenant topics and their ACLs', async () => {
    await ensureTopics(
      k.brokers,
      TENANTS.map((t) => ({ name: topicOf(t), partitions: 1 })),
      k.security,
    )
    const a = client(k.brokers, scram512(admin)).admin()
    await a.connect()
    try {
      expect(await a.createAcls({ acl: TENANTS.flatMap(tenantAcls) })).toBe(true)
      const described = await a.describeAcls({
        resourceType: AclResourceTypes.TOPIC,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      })
      const topics = described.resources.map((r) => r.resourceName).sort()
      expect(topics).toEqual(TENANTS.map(topicOf))
      expect((await a.listTopics()).filter((t) => !t.startsWith('__')).sort()).toEqual(TENANTS.map(topicOf))
    } finally {
      await a.disconnect()
    }
  })

  it("accepts acme's idempotent producer on its own topic", async () => {
    await produce(scram512(users.acme), topicOf('acme'), 'acme-1')
    expect(await topicEnd(topicOf('acme'))).toBe(1)
  })

  it("refuses acme on globex's topic, and globex's topic stays empty", async () => {
    await expect(produce(scram512(users.acme), topicOf('globex'), 'intruder')).rejects.toThrow(
      /not authorized|TOPIC_AUTHORIZATION_FAILED/i,
    )
    expect(await topicEnd(topicOf('globex'))).toBe(0)
  })

  it("hides the other tenant's topic from acme's metadata", async () => {
    const a = client(k.brokers, scram512(users.acme)).admin()
    await a.connect()
    try {
      expect(await a.listTopics()).toEqual([topicOf('acme')])
    } finally {
      await a.disconnect()
    }
  })

  it('accepts SCRAM-SHA-256 as well (globex on its own topic)', async () => {
    const { username, password: pw } = users.globex
    await produce({ mechanism: 'scram-sha-256', username, password: pw }, topicOf('globex'), 'globex-1')
    expect(await topicEnd(topicOf('globex'))).toBe(1)
  })

  it('refuses a wrong password at connect', async () => {
    const a = client(k.brokers, {
      mechanism: 'scram-sha-512',
      username: users.acme.username,
      password: 'wrong',
    }).admin()
    try {
      await expect(a.connect()).rejects.toThrow(/SASL|authentication/i)
    } finally {
      await a.disconnect()
    }
  })

  it('gives a client without SASL nothing', async () => {
    const a = client(k.brokers, undefined).admin()
    try {
      await expect(
        (async () => {
          await a.connect()
          return a.listTopics()
        })(),
        // The broker hangs up on the first request that is not part of a SASL handshake.
      ).rejects.toThrow(/connection/i)
    } finally {
      await a.disconnect()
    }
  })

  it('keeps the passwords out of the broker log and out of world-readable files', async () => {
    const secrets = [admin, ...Object.values(users)].map((u) => u.password)
    const log = await readFile(k.logFile, 'utf8')
    for (const s of secrets) expect(log).not.toContain(s)
    expect((await stat(join(dataDir, 'server.properties'))).mode & 0o077).toBe(0)
    expect(await readdir(dataDir)).not.toContain('format.args')
  })
})
