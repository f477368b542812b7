/**
 * The fleet simulator, as its own process (so its CPU is measured apart from the pipeline's): N
 * synthetic hosts, each with its own agent id and sequence numbers, every record encoded with the
 * agent's Avro codec (single-object encoding, records of one tick back to back in one Kafka message
 * keyed tenant/host, as the agent's Kafka sink sends them), produced with acks from all in-sync
 * replicas by idempotent producers. Hosts are spread over the interval in ten slots, as real agents
 * are not in step. A slot that cannot be sent in time is not bunched up: the next one waits its turn
 * and the shortfall shows as offered vs produced.
 *
 * Input: LOADTEST_SIMULATOR (JSON of SimulatorSpec). Output over IPC: SimulatorMessage.
 */
import type { Producer } from 'kafkajs'
import { createKafka } from '#platform/kafka.ts'
import { sampleKey } from '#schemas/src/kafka-topic.ts'
import { createLogger } from '#platform/logger.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { hostSnapshot, valuesIn } from './host-snapshot.ts'
import { SyntheticHost } from './synthetic-host.ts'

export interface SimulatorSpec {
  brokers: string[]
  topic: string
  tenant: string
  hosts: number
  intervalMs: number
  durationS: number
  spike?: { atS: number; forS: number; factor: number } | undefined
  producers: number
}

export interface SimulatorProgress {
  type: 'progress'
  atMs: number
  envelopes: number
  values: number
  offeredValues: number
  sendErrors: number
}

export type SimulatorMessage =
  | SimulatorProgress
  | { type: 'ready'; valuesPerHostTick: number; recordsPerHostTick: number }
  | {
      type: 'done'
      envelopes: number
      values: number
      offeredValues: number
      sendErrors: number
      hosts: number
    }
  | { type: 'error'; message: string }

const SLOTS = 10

function send(m: SimulatorMessage): void {
  process.send?.(m)
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.LOADTEST_SIMULATOR ?? '{}') as SimulatorSpec
  const logger = createLogger('loadtest-simulator', { level: 'warn' })
  const template = hostSnapshot()
  const valuesPerHostTick = template.reduce((n, s) => n + valuesIn(s), 0)
  const hosts = Array.from({ length: spec.hosts }, (_, i) => new SyntheticHost(i, template))
  const codec = envelopeCodec()
  const kafka = createKafka(spec.brokers, 'loadtest-simulator', logger)
  const producers: Producer[] = Array.from({ length: spec.producers }, () =>
    kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }),
  )
  await Promise.all(producers.map((p) => p.connect()))
  send({ type: 'ready', valuesPerHostTick, recordsPerHostTick: template.length })

  let envelopes = 0
  let values = 0
  let offeredValues = 0
  let sendErrors = 0
  const start = Date.now()
  const end = start + spec.durationS * 1000
  const intervalAt = (t: number): number => {
    const s = spec.spike
    const sinceS = (t - start) / 1000
    return s && sinceS >= s.atS && sinceS < s.atS + s.forS ? spec.intervalMs / s.factor : spec.intervalMs
  }
  const progress = setInterval(() => {
    send({ type: 'progress', atMs: Date.now(), envelopes, values, offeredValues, sendErrors })
  }, 1000)

  // Each producer owns a fixed set of hosts, so one host's messages stay in order.
  const inFlight: Promise<void>[] = producers.map(() => Promise.resolve())
  let slotAt = start
  let slot = 0
  while (slotAt < end) {
    const wait = slotAt - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    const interval = intervalAt(slotAt)
    const tsUs = Date.now() * 1000
    const batches: { key: string; value: Buffer }[][] = producers.map(() => [])
    for (let i = slot; i < hosts.length; i += SLOTS) {
      const h = hosts[i] as SyntheticHost
      h.advance(interval / 1000)
      const records = h.samples.map((sample) =>
        codec.encode({
          tenant: spec.tenant,
          host_id: h.id.hostId,
          hostname: h.id.hostname,
          agent_id: h.id.agentId,
          seq: h.seq++,
          ts_us: tsUs,
          interval_ms: Math.round(interval),
          sample,
        }),
      )
      ;(batches[i % producers.length] as { key: string; value: Buffer }[]).push({
        key: sampleKey(spec.tenant, h.id.hostId),
        value: Buffer.concat(records),
      })
      offeredValues += valuesPerHostTick
    }
    batches.forEach((messages, p) => {
      if (messages.length === 0) return
      const producer = producers[p] as Producer
      inFlight[p] = (inFlight[p] as Promise<void>).then(async () => {
        try {
          await producer.send({ topic: spec.topic, acks: -1, messages })
          envelopes += messages.length * template.length
          values += messages.length * valuesPerHostTick
        } catch (err) {
          // A failed batch is lost to the audit on purpose: the simulator, unlike the agent, has no
          // spool, so the audit shows what the pipeline lost only if sends succeed.
          sendErrors++
          logger.error({ err }, 'send failed')
        }
      })
    })
    // Back-pressure: never more than one slot of each producer queued behind the one in flight.
    await Promise.all(inFlight)
    slot = (slot + 1) % SLOTS
    slotAt += interval / SLOTS
    // A slot that is already late is sent at once; one more than a whole interval late is skipped.
    while (slotAt < Date.now() - interval && slotAt < end) {
      slot = (slot + 1) % SLOTS
      slotAt += interval / SLOTS
    }
  }
  await Promise.all(inFlight)
  clearInterval(progress)
  send({ type: 'progress', atMs: Date.now(), envelopes, values, offeredValues, sendErrors })
  await Promise.all(producers.map((p) => p.disconnect()))
  send({ type: 'done', envelopes, values, offeredValues, sendErrors, hosts: hosts.length })
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) })
    process.exit(1)
  },
)
