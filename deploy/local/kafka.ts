import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Kafka, logLevel, type SASLOptions } from 'kafkajs'
import { ServiceError, errorMessage } from '#platform/errors.ts'
import { sleep } from '#platform/time.ts'
import type { KafkaSecurity } from '#platform/kafka-security.ts'
import { assertPortFree } from './ports.ts'
import { KAFKA_LOG4J2_CONFIG, ensureKafkaJars, kafkaVersion } from './kafka-jars.ts'
import {
  ManagedProcess,
  describeExit,
  logExcerpt,
  probeCommand,
  startUntilReady,
  type ExitInfo,
} from './service-process.ts'

export { ensureKafkaJars, kafkaVersion } from './kafka-jars.ts'

export interface ScramUser {
  username: string
  password: string
}

export interface LocalKafka {
  brokers: string[]
  logFile: string
  pid: number
  /** What a client needs to connect as the admin super user ({} for a plaintext broker). */
  security: KafkaSecurity
  stop(): Promise<void>
}

export interface StartKafkaOptions {
  dataDir: string
  port?: number
  controllerPort?: number
  /** Default partition count for topics created without one (auto-creation itself is off). */
  partitions?: number
  logRetentionHours?: number
  log?: (line: string) => void
  /** Where the jars are cached; defaults to `<repo>/.cache`. */
  cacheDir?: string
  heapMb?: number
  readyTimeoutMs?: number
  /**
   * SASL/SCRAM on the client listener, ACLs enforced (StandardAuthorizer, deny when no ACL matches);
   * `admin` is a super user. The credentials are stored when the data dir is formatted, so on an
   * existing data dir these users are the ones it was first started with.
   */
  scram?: { admin: ScramUser; users?: ScramUser[] }
}

const HOST = '127.0.0.1'

function quiet(brokers: string[], clientId: string, security: KafkaSecurity = {}): Kafka {
  return new Kafka({
    clientId,
    brokers,
    // A copy, because kafkajs writes its authenticationProvider into the object it is given. The cast:
    // kafkajs types the mechanisms as a discriminated union that a validated string cannot narrow to.
    ...(security.sasl && { sasl: { ...security.sasl } as SASLOptions }),
    ...(security.ssl && { ssl: security.ssl }),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 10_000,
    retry: { retries: 0 },
  })
}

async function requireJava(kafkaMajor: number): Promise<void> {
  const out = await probeCommand('java', ['-version'])
  if (out === null) {
    throw new ServiceError(
      'KAFKA_JAVA_MISSING',
      'java not found on PATH: the local Kafka broker needs a JDK/JRE 17+ (apt-get install -y openjdk-17-jre-headless)',
    )
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(out)
  const major = m?.[1] === '1' ? Number(m[2]) : Number(m?.[1])
  const needed = kafkaMajor >= 4 ? 17 : 11
  if (!Number.isFinite(major) || major < needed) {
    throw new ServiceError(
      'KAFKA_JAVA_TOO_OLD',
      `Kafka ${kafkaMajor}.x needs Java ${needed}+, but \`java -version\` says: ${out.split('\n')[0] ?? out}`,
    )
  }
}

/** A KRaft cluster id: 16 random bytes, base64url without padding, as Kafka's Uuid prints them. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    // Kafka avoids ids starting with '-' because the CLI would read them as options.
    if (!id.startsWith('-')) return id
  }
}

async function clusterId(dataDir: string): Promise<string> {
  const file = join(dataDir, 'cluster-id')
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim()
  const id = newClusterId()
  await writeFile(file, `${id}\n`)
  return id
}

/*
 * Names and passwords travel through four parsers: the storage tool's --add-scram value (split on
 * ',', a leading and trailing '"' stripped), a JAAS quoted string ('"' and '\' are special),
 * server.properties (read as ISO-8859-1, whitespace trimmed, '\' an escape) and super.users
 * (';'-separated). Printable ASCII without those characters survives all four unchanged.
 */
const SCRAM_SAFE = /^[\x21-\x7e]+$/
const SCRAM_UNSAFE = /[,"\\;]/

function checkScramUsers(users: readonly ScramUser[]): void {
  const seen = new Set<string>()
  for (const u of users) {
    if (!SCRAM_SAFE.test(u.username) || SCRAM_UNSAFE.test(u.username))
      throw new ServiceError(
        'KAFKA_SCRAM_INVALID',
        `SCRAM user name ${JSON.stringify(u.username)} must be printable ASCII without spaces, ',', '"', '\\' or ';'`,
      )
    // The message names the user, never the password.
    if (!SCRAM_SAFE.test(u.password) || SCRAM_UNSAFE.test(u.password))
      throw new ServiceError(
        'KAFKA_SCRAM_INVALID',
        `the SCRAM password of ${u.username} must be printable ASCII without spaces, ',', '"', '\\' or ';'`,
      )
    if (seen.has(u.username))
      throw new ServiceError('KAFKA_SCRAM_INVALID', `SCRAM user ${u.username} is listed twice`)
    seen.add(u.username)
  }
}

function scramLogin(user: ScramUser): string {
  return `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user.username}" password="${user.password}";`
}

/** One argument as a line of a java launcher @argfile, quoted because '#' outside quotes starts a comment. */
function argfileLine(arg: string): string {
  return `"${arg.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

function brokerProperties(o: {
  port: number
  controllerPort: number
  logDir: string
  partitions: number
  retentionHours: number
  kafkaMajor: number
  scramAdmin?: ScramUser
}): string {
  const client = o.scramAdmin === undefined ? 'PLAINTEXT' : 'SASL_PLAINTEXT'
  const props: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    // A static voter set (not --standalone's dynamic quorum) keeps the controller port out of the
    // stored metadata, so a restart on different ports still finds its data.
    'controller.quorum.voters': `1@${HOST}:${o.controllerPort}`,
    listeners: `${client}://${HOST}:${o.port},CONTROLLER://${HOST}:${o.controllerPort}`,
    'advertised.listeners': `${client}://${HOST}:${o.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': client,
    'listener.security.protocol.map': `CONTROLLER:PLAINTEXT,${client}:${client}`,
    'log.dirs': o.logDir,
    'num.partitions': o.partitions,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    // 50 offset partitions (the default) slow the first consumer group down for nothing on one node.
    'offsets.topic.num.partitions': 8,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': 'false',
    'log.retention.hours': o.retentionHours,
    'log.retention.check.interval.ms': 60_000,
  }
  if (o.kafkaMajor >= 4) {
    props['share.coordinator.state.topic.replication.factor'] = 1
    props['share.coordinator.state.topic.min.isr'] = 1
  }
  if (o.scramAdmin !== undefined) {
    Object.assign(props, {
      'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
      'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
      // Every enabled mechanism needs a login module on the listener; only the inter-broker one
      // logs in itself, so only it carries credentials.
      'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config': scramLogin(o.scramAdmin),
      'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'allow.everyone.if.no.acl.found': 'false',
      // The combined node's broker reaches its controller over the PLAINTEXT CONTROLLER listener on
      // 127.0.0.1, where it is ANONYMOUS; without this its own registration would be refused.
      'super.users': `User:${o.scramAdmin.username};User:ANONYMOUS`,
    })
  }
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n')}\n`
}

/** Java's String.hashCode, which Kafka uses to place a group on a `__consumer_offsets` partition. */
function javaHash(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0
  return h
}

/** One group id per `__consumer_offsets` partition, so probing them all touches every coordinator shard. */
function probeGroups(partitions: number): string[] {
  const byPartition = new Map<number, string>()
  for (let i = 0; byPartition.size < partitions; i++) {
    const id = `procstream-ready-${i}`
    const p = (javaHash(id) & 0x7fffffff) % partitions
    if (!byPartition.has(p)) byPartition.set(p, id)
  }
  return [...byPartition.values()]
}

/**
 * Ready means a client can do real work: the broker is registered and, on a restart, the group
 * coordinator has loaded every offsets partition (until then OffsetFetch answers
 * COORDINATOR_LOAD_IN_PROGRESS, which kafkajs' admin does not retry).
 */
async function isReady(brokers: string[], security: KafkaSecurity): Promise<boolean> {
  const admin = quiet(brokers, 'procstream-local-ready', security).admin()
  try {
    await admin.connect()
    const cluster = await admin.describeCluster()
    if (cluster.brokers.length === 0 || cluster.controller === null) return false
    if (!(await admin.listTopics()).includes('__consumer_offsets')) return true
    const meta = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] })
    const partitions = meta.topics[0]?.partitions.length ?? 0
    for (const groupId of probeGroups(partitions)) await admin.fetchOffsets({ groupId, topics: [] })
    return true
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}

/**
 * Starts a single-node KRaft Kafka broker from the Maven-fetched jars, with its data, config and log
 * under `dataDir`. The storage is formatted only once, so stopping and starting again on the same
 * folder keeps topics and committed offsets.
 */
export async function startKafka(opts: StartKafkaOptions): Promise<LocalKafka> {
  const log = opts.log ?? (() => undefined)
  const port = opts.port ?? 9092
  const controllerPort = opts.controllerPort ?? 9093
  const version = kafkaVersion()
  const kafkaMajor = Number(version.split('.')[0])
  const dataDir = resolve(opts.dataDir)
  const logDir = join(dataDir, 'kraft-logs')
  const logFile = join(dataDir, 'logs', 'kafka.log')
  const propsFile = join(dataDir, 'server.properties')
  const brokers = [`${HOST}:${port}`]
  const scram = opts.scram
  const scramUsers = scram === undefined ? [] : [scram.admin, ...(scram.users ?? [])]
  checkScramUsers(scramUsers)
  const security: KafkaSecurity =
    scram === undefined
      ? {}
      : {
          sasl: {
            mechanism: 'scram-sha-512',
            username: scram.admin.username,
            password: scram.admin.password,
          },
        }

  await requireJava(kafkaMajor)
  const libs = await ensureKafkaJars({
    ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }),
    log,
  })
  await assertPortFree(port, 'Kafka broker', 'KAFKA_PORT_IN_USE')
  await assertPortFree(controllerPort, 'Kafka controller', 'KAFKA_PORT_IN_USE')
  await mkdir(join(dataDir, 'logs'), { recursive: true })
  const properties = brokerProperties({
    port,
    controllerPort,
    logDir,
    partitions: opts.partitions ?? 1,
    retentionHours: opts.logRetentionHours ?? 24,
    kafkaMajor,
    ...(scram && { scramAdmin: scram.admin }),
  })
  if (scram === undefined) {
    await writeFile(propsFile, properties)
  } else {
    // The inter-broker JAAS line holds the admin password: tighten a file left by an earlier run
    // before that password goes into it.
    if (existsSync(propsFile)) await chmod(propsFile, 0o600)
    await writeFile(propsFile, properties, { mode: 0o600 })
  }

  const heapMb = opts.heapMb ?? 512
  const jvm = [
    `-Xms${Math.min(256, heapMb)}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    // log4j2's own shutdown hook would otherwise close the appender while Kafka's hook is still
    // shutting down, losing exactly the lines that show whether the shutdown was clean.
    '-Dlog4j2.shutdownHookEnabled=false',
    `-Dlog4j2.configurationFile=${KAFKA_LOG4J2_CONFIG}`,
    `-Dprocstream.kafka.logFile=${logFile}`,
    '-cp',
    `${libs}/*`,
  ]

  if (!existsSync(join(logDir, 'meta.properties'))) {
    const id = await clusterId(dataDir)
    log(
      `formatting KRaft storage in ${logDir} (cluster id ${id}${scram ? `, SCRAM users ${scramUsers.map((u) => u.username).join(', ')}` : ''})`,
    )
    const toolArgs = ['kafka.tools.StorageTool', 'format', '-t', id, '-c', propsFile]
    for (const u of scramUsers) {
      for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'])
        toolArgs.push('--add-scram', `${mechanism}=[name=${u.username},password=${u.password}]`)
    }
    // With passwords among them, the arguments go through a private @argfile (expanded by the java
    // launcher) so they never show in `ps`.
    const argFile = join(dataDir, 'format.args')
    if (scram) await writeFile(argFile, `${toolArgs.map(argfileLine).join('\n')}\n`, { mode: 0o600 })
    let exit: ExitInfo
    try {
      const format = await ManagedProcess.start({
        command: 'java',
        args: [...jvm, ...(scram ? [`@${argFile}`] : toolArgs)],
        logFile,
        errorCode: 'KAFKA_FORMAT_FAILED',
        what: 'Kafka storage format',
      })
      exit = await format.exited
    } finally {
      if (scram) await rm(argFile, { force: true })
    }
    if (exit.code !== 0) {
      throw new ServiceError(
        'KAFKA_FORMAT_FAILED',
        `formatting Kafka storage failed (${describeExit(exit)}): ${await logExcerpt(logFile)}`,
      )
    }
  }

  const started = Date.now()
  log(`starting Kafka ${version} on ${brokers.join(',')} (log: ${logFile})`)
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000
  const broker = await startUntilReady({
    start: {
      command: 'java',
      args: [...jvm, 'kafka.Kafka', propsFile],
      logFile,
      errorCode: 'KAFKA_START_FAILED',
      what: 'Kafka broker',
    },
    probe: () => isReady(brokers, security),
    timeoutMs: readyTimeoutMs,
    intervalMs: 250,
    exitedCode: 'KAFKA_EXITED',
    notReadyCode: 'KAFKA_NOT_READY',
    notReady: `not ready after ${readyTimeoutMs / 1000} s on ${brokers.join(',')}`,
  })
  log(
    `Kafka ready on ${brokers.join(',')} in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${broker.pid})`,
  )

  return {
    brokers,
    logFile,
    pid: broker.pid,
    security,
    stop: async () => {
      const exit = await broker.stop(15_000)
      log(`Kafka stopped (${describeExit(exit)})`)
    },
  }
}

/** How long ensureTopics keeps trying while the broker answers with retriable errors. */
const TOPICS_READY_MS = 60_000
const TOPICS_RETRY_MS = 250

type Admin = ReturnType<Kafka['admin']>

function isRetriable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true
}

async function createMissing(admin: Admin, topics: TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics())
  const missing = topics.filter((t) => !existing.has(t.name))
  if (missing.length === 0) return
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      replicationFactor: 1,
      configEntries:
        t.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(t.retentionMs) }],
    })),
  })
}

/** Every partition of the topics has a leader; otherwise a retriable error for another round. */
async function leadersElected(admin: Admin, topics: TopicSpec[]): Promise<void> {
  const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) })
  const leaderless = meta.topics.filter((t) => t.partitions.some((p) => p.leader < 0))
  if (leaderless.length > 0)
    throw Object.assign(new Error(`no leader yet for ${leaderless.map((t) => t.name).join(', ')}`), {
      retriable: true,
    })
}

export interface TopicSpec {
  name: string
  partitions: number
  retentionMs?: number
}

/**
 * Creates the topics that do not exist yet, leaving existing ones (and their partition counts and
 * configs) untouched: growing partitions would move keys, so that stays a deliberate operator step.
 */
export async function ensureTopics(
  brokers: string[],
  topics: TopicSpec[],
  security: KafkaSecurity = {},
): Promise<void> {
  if (topics.length === 0) return
  const admin = quiet(brokers, 'procstream-local-topics', security).admin()
  const deadline = Date.now() + TOPICS_READY_MS
  try {
    await admin.connect()
    for (;;) {
      try {
        await createMissing(admin, topics)
        await leadersElected(admin, topics)
        return
      } catch (err) {
        // A loaded machine elects leaders late, and kafkajs's own wait gives up on a metadata answer
        // that does not know the new topic yet (a retriable error). Creating only what is missing makes
        // another round safe.
        if (!isRetriable(err) || Date.now() >= deadline) throw err
        await sleep(TOPICS_RETRY_MS)
      }
    }
  } catch (err) {
    throw new ServiceError(
      'KAFKA_TOPICS_FAILED',
      `could not create topics ${topics.map((t) => t.name).join(', ')} on ${brokers.join(',')}: ${errorMessage(err)}`,
      { retryable: true, cause: err },
    )
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}
