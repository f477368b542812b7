import { redactUrl } from '#platform/config.ts'
import { connectNats } from '#platform/nats-client.ts'
import { ConfigError } from '#platform/errors.ts'
import { createKafka } from '#platform/kafka.ts'
import { sampleKey } from '#schemas/src/kafka-topic.ts'
import { createLogger } from '#platform/logger.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { Sample } from '#schemas/src/families.ts'
import { readAgentConfig, helpText, type AgentConfig } from './config.ts'
import { envelopeOf, sampleTimestampUs } from './envelope.ts'
import { formatSamples } from './format/output.ts'
import { resolveIdentity, type AgentIdentity } from './identity.ts'
import { Sampler, type SamplerOptions } from './sampler.ts'
import { IngestTransport } from './sink/ingest-transport.ts'
import { KafkaTransport } from './sink/kafka-transport.ts'
import { SpoolingSink } from './sink/spooling-sink.ts'
import type { Transport } from './sink/transport.ts'
import { Spool, SpoolError } from './sink/spool.ts'
import type { NatsConnection } from 'nats'
import { listenForControl } from './control.ts'
import { GatewayControl } from './gateway-control.ts'
import { serveMetricsOrLog } from '#platform/metrics-server.ts'
import { processPoints, withProcessMetadata } from '#platform/build-info.ts'
import { formatMetricPoints } from '#platform/prometheus-text.ts'
import { formatPrometheus } from './format/prometheus.ts'
import { SelfMetrics } from './self-metrics.ts'
import { defaultSchedule, FamilyScheduler, SCHEDULED } from './schedule.ts'
import { within } from '#platform/time.ts'
import { LogEvery } from '#platform/log-every.ts'

const logger = createLogger('agent')

function problemLogger(): (family: string, problem: string) => void {
  // One line per family per minute at most: a broken file must not flood the log at 10 Hz.
  const every = new Map<string, LogEvery>()
  return (family, problem) => {
    let e = every.get(family)
    if (!e) every.set(family, (e = new LogEvery(60_000, 0)))
    if (!e.due()) return
    logger.warn({ family }, problem)
  }
}

function samplerOptions(config: AgentConfig): SamplerOptions {
  return {
    rootfs: config.rootfs,
    vmstatFields: config.vmstatFields,
    sysfs: config.sysfs,
    udevData: config.udevData,
    collectorOptions: config.collectorOptions,
  }
}

/** Every family and collector the schedule has on, the flags' changes applied. */
function enabledEntries(config: AgentConfig): string[] {
  const schedule = defaultSchedule(config.intervalMs)
  for (const [name, change] of Object.entries(config.familyIntervals)) {
    const entry = schedule[name]
    if (entry) schedule[name] = { ...entry, ...change }
  }
  return SCHEDULED.filter((name) => name !== 'agent' && schedule[name]?.enabled === true)
}

function runOnce(config: AgentConfig, id: AgentIdentity): void {
  const sampler = new Sampler(
    config.procfs,
    (family, problem) => {
      process.stderr.write(`warning: ${family}: ${problem}\n`)
    },
    samplerOptions(config),
  )
  const samples = enabledEntries(config)
    .map((f) => sampler.sample(f))
    .filter((s): s is Sample => s !== undefined)
  sampler.close()
  const tsUs = Date.now() * 1000
  process.stdout.write(
    formatSamples(config.format === 'json' ? 'json' : 'prometheus', samples, (sample, i) =>
      envelopeOf({ tenant: config.tenant, id }, i, tsUs, config.intervalMs, sample),
    ),
  )
}

/** Kafka messages and gateway requests alike hold at most this much before compression. */
const MESSAGE_BYTES = 64 * 1024

function openTransport(config: AgentConfig, id: AgentIdentity): Transport {
  // The envelope keeps config.tenant either way: the gateway overwrites it with its key's tenant.
  if (config.ingest) return new IngestTransport({ ...config.ingest, logger })
  return new KafkaTransport({
    kafka: createKafka(config.brokers, `procstream-agent-${id.hostId}`, logger, config.kafkaSecurity),
    topic: config.topic,
    key: sampleKey(config.tenant, id.hostId),
    logger,
    maxMessageBytes: MESSAGE_BYTES,
  })
}

function runContinuously(config: AgentConfig, id: AgentIdentity): void {
  const codec = envelopeCodec()
  // Opened before sampling starts: records a previous run could not send are sent before new ones.
  const spool =
    config.spoolDir === undefined
      ? undefined
      : Spool.open({
          dir: config.spoolDir,
          maxBytes: config.spoolMaxBytes,
          fsync: config.spoolFsync,
          fsyncIntervalMs: config.spoolFsyncIntervalMs,
        })
  if (spool) logger.info({ dir: config.spoolDir, ...spool.stats }, 'spool opened')
  const transport = openTransport(config, id)
  const sink = new SpoolingSink({
    transport,
    logger,
    sendAtBytes: MESSAGE_BYTES,
    lingerMs: config.batchMs,
    maxQueueBytes: 64 * 1024 * 1024,
    ...(spool && { spool }),
  })
  // The transport connects in the background: samples queue until the destination is reachable.
  const connecting = sink.start().catch((err: unknown) => {
    logger.warn({ err: String(err) }, `${transport.describe} not reachable yet; samples are queued`)
  })
  const sampler = new Sampler(config.procfs, problemLogger(), samplerOptions(config))
  const origin = { tenant: config.tenant, id }
  let seq = 0
  const self = new SelfMetrics({
    sampler: () => sampler.stats,
    // Read on ticks only, so after `scheduler` below exists.
    ticks: () => ({ late: scheduler.lateTicks(), missed: scheduler.missedTicks() }),
    sink: () => sink.stats,
  })
  const collect = (family: string, intervalMs: number, scheduledMs: number): void => {
    const sample: Sample | undefined =
      family === 'agent' ? { family, data: self.sample() } : sampler.sample(family)
    if (!sample) return
    const tsUs = sampleTimestampUs(Date.now(), scheduledMs, intervalMs)
    sink.enqueue(codec.encode(envelopeOf(origin, seq++, tsUs, intervalMs, sample)))
  }
  const scheduler = new FamilyScheduler(
    defaultSchedule(config.intervalMs),
    (family, intervalMs, scheduledMs) => {
      self.timeCollection(() => {
        collect(family, intervalMs, scheduledMs)
      })
    },
  )
  // The flags' per-family intervals take the same path as a live control request.
  scheduler.apply(config.familyIntervals)
  scheduler.start()
  // Collecting and sending matter more than this port: a taken port is logged and sampling goes on.
  const metricsServer = serveMetricsOrLog({
    listen: config.metricsListen,
    render: () =>
      formatPrometheus([{ family: 'agent', data: self.sample() }]) +
      formatMetricPoints(
        processPoints('agent'),
        withProcessMetadata(() => undefined),
      ),
    logger,
    what: 'the agent’s own metrics',
    goesOn: 'the agent family still sends them',
  })

  // Control is optional and never holds up sampling: the connection is made (and remade) in the background.
  let nats: Promise<NatsConnection | undefined> = Promise.resolve(undefined)
  if (config.nats !== undefined) {
    const natsConfig = config.nats
    nats = connectNats(natsConfig, `procstream-agent-${id.hostId}`, {
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
    })
      .then((nc) => {
        listenForControl({
          nc,
          tenant: natsConfig.tenant,
          hostId: id.hostId,
          agentId: id.agentId,
          groups: config.groups,
          scheduler,
          logger,
        })
        logger.info(
          { tenant: natsConfig.tenant, user: natsConfig.user, groups: config.groups },
          'listening for control requests',
        )
        return nc
      })
      .catch((err: unknown) => {
        logger.warn(
          { error: String(err) },
          'no NATS connection (unreachable, or the credential refused): live control is off',
        )
        return undefined
      })
  }
  // Without a NATS credential, control of an agent that sends through the gateway comes through the
  // gateway, on its ingest key alone.
  let gatewayControl: GatewayControl | undefined
  if (config.nats === undefined && config.ingest !== undefined && config.gatewayControl) {
    gatewayControl = new GatewayControl({
      ...config.ingest,
      hostId: id.hostId,
      agentId: id.agentId,
      groups: config.groups,
      scheduler,
      logger,
    })
    if (!gatewayControl.start()) gatewayControl = undefined
  }
  logger.info(
    {
      hostId: id.hostId,
      agentId: id.agentId,
      intervalMs: config.intervalMs,
      ...(config.ingest ? { ingest: redactUrl(config.ingest.url) } : { brokers: config.brokers }),
    },
    'agent sampling',
  )
  const stop = async (): Promise<void> => {
    scheduler.stop()
    sampler.close()
    const nc = await Promise.race([
      nats,
      new Promise<undefined>((r) =>
        setTimeout(() => {
          r(undefined)
        }, 1_000),
      ),
    ])
    await nc?.close()
    await gatewayControl?.stop()
    await (await metricsServer)?.close()
    // Connecting to Kafka retries for tens of seconds while it is away; unsent records are spooled anyway.
    await within(connecting, 2_000)
    await sink.stop()
    logger.info({ ...sink.stats, ...sampler.stats, missedTicks: scheduler.missedTicks() }, 'agent stopped')
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
}

try {
  const config = readAgentConfig(process.argv.slice(2), process.env)
  if (config === 'help') {
    process.stdout.write(helpText())
  } else {
    const id = resolveIdentity(config.hostId)
    if (config.once) runOnce(config, id)
    else runContinuously(config, id)
  }
} catch (err) {
  if (
    err instanceof ConfigError ||
    (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    process.stderr.write(`${err.message}\n\n${helpText()}`)
    process.exit(2)
  }
  if (err instanceof SpoolError) {
    // A spool folder held by another agent or unreadable: one line, not a stack.
    process.stderr.write(`${err.message}\n`)
    process.exit(1)
  }
  throw err
}
