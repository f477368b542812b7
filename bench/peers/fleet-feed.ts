/**
 * The bench's load generator, as its own process (so its CPU is counted apart from the system it
 * feeds): the loadtest's simulated fleet (loadtest/src/synthetic-host.ts) every second, hosts spread
 * over ten slots of the second as the loadtest's simulator spreads them, sent either
 *   - to Kafka as the agent sends them (Avro single-object records of one host-tick in one message
 *     keyed tenant/host, idempotent producers, acks from all in-sync replicas), for procstream's
 *     processor to store, or
 *   - to VictoriaMetrics' import API, the same values as text (bench/peers/fleet-text.ts).
 * Both runs start from one template file and evolve host i by the same generator, so host i's k-th
 * tick carries the same values in either; timestamps are the slot's scheduled time, the same offsets
 * from each run's start.
 *
 * The parent sets the number of active hosts at any time ({type:'hosts'}) and ends the feed
 * ({type:'stop'}); a host keeps its state while inactive. Input: FLEET_FEED (JSON of FeedSpec).
 * Output over IPC: FeedMessage.
 */
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { deserialize } from 'node:v8'
import type { Producer } from 'kafkajs'
import { createKafka } from '#platform/kafka.ts'
import { sampleKey } from '#schemas/src/kafka-topic.ts'
import { createLogger } from '#platform/logger.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { Sample } from '#schemas/src/families.ts'
import { valuesIn } from '../../loadtest/src/host-snapshot.ts'
import { SyntheticHost } from '../../loadtest/src/synthetic-host.ts'
import { BodyWriter, HostSeriesText, IMPORT_PATH, valueSuffix, type ImportFormat } from './fleet-text.ts'

export type FeedTarget =
  | { kind: 'victoria-metrics'; url: string; format: ImportFormat }
  | { kind: 'kafka'; brokers: string[]; topic: string; tenant: string }

export interface FeedSpec {
  target: FeedTarget
  /** v8-serialised Sample[]: the one /proc snapshot every host of both runs starts from. */
  templateFile: string
}

export type FeedCommand = { type: 'hosts'; hosts: number } | { type: 'stop' }

export interface FeedProgress {
  atMs: number
  hosts: number
  /** Values of the slots built and handed to the transport. */
  generated: number
  /** Values the target acknowledged: HTTP 2xx from VictoriaMetrics, acks from all in-sync replicas from Kafka. */
  acked: number
  envelopes: number
  ackedEnvelopes: number
  /** Values of slots not built because the feed was a whole interval late or its queue full. */
  skipped: number
  errors: number
  /** How late the latest slots were built, ms (the most since the last progress): the feed itself falling behind. */
  lateMs: number
}

export type FeedMessage =
  | { type: 'ready'; valuesPerHostTick: number; recordsPerHostTick: number }
  | ({ type: 'progress' } & FeedProgress)
  | ({ type: 'done' } & FeedProgress)
  | { type: 'error'; message: string }

const SLOTS = 10
const INTERVAL_MS = 1000
/** Import requests in flight at once: enough to keep VictoriaMetrics' parsers on both cores busy. */
const HTTP_CONCURRENCY = 4
/** Queued values past this many seconds of the current rate are not built: the peer is not keeping up. */
const QUEUE_SECONDS = 10
const PRODUCERS = 4
/** Often enough that the parent's backlog (values fed − values stored) is fresh to a fraction of a second. */
const PROGRESS_MS = 200

function send(m: FeedMessage): void {
  process.send?.(m)
}

interface Transport {
  /** Hand one slot's hosts over; resolves when the feed may build the next slot. */
  slot(hosts: readonly SyntheticHost[], tsMs: number): Promise<void>
  /** Whether `values` more may be queued now. */
  room(values: number): boolean
  drain(): Promise<void>
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.FLEET_FEED ?? '{}') as FeedSpec
  const template = deserialize(readFileSync(spec.templateFile)) as Sample[]
  const valuesPerHostTick = template.reduce((n, s) => n + valuesIn(s), 0)
  const p: FeedProgress = {
    atMs: Date.now(),
    hosts: 0,
    generated: 0,
    acked: 0,
    envelopes: 0,
    ackedEnvelopes: 0,
    skipped: 0,
    errors: 0,
    lateMs: 0,
  }
  const transport =
    spec.target.kind === 'kafka'
      ? await kafkaTransport(spec.target, template.length, valuesPerHostTick, p)
      : httpTransport(spec.target, p)
  send({ type: 'ready', valuesPerHostTick, recordsPerHostTick: template.length })

  const hosts: SyntheticHost[] = []
  // An object, not a let: the message handler sets it between the loop's awaits.
  const state = { stopping: false }
  process.on('message', (m: FeedCommand) => {
    if (m.type === 'stop') state.stopping = true
    else {
      while (hosts.length < m.hosts) hosts.push(new SyntheticHost(hosts.length, template))
      p.hosts = m.hosts
    }
  })
  const progress = setInterval(() => {
    send({ type: 'progress', ...p, atMs: Date.now() })
    p.lateMs = 0
  }, PROGRESS_MS)

  let slotAt = Math.ceil(Date.now() / INTERVAL_MS) * INTERVAL_MS
  let slot = 0
  const slotHosts = (s: number): SyntheticHost[] => {
    const out: SyntheticHost[] = []
    for (let i = s; i < p.hosts; i += SLOTS) out.push(hosts[i] as SyntheticHost)
    return out
  }
  for (;;) {
    const wait = slotAt - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    if (state.stopping) break
    p.lateMs = Math.max(p.lateMs, Date.now() - slotAt)
    const due = slotHosts(slot)
    const values = due.length * valuesPerHostTick
    if (due.length > 0) {
      if (transport.room(values)) {
        for (const h of due) h.advance(INTERVAL_MS / 1000)
        p.generated += values
        p.envelopes += due.length * template.length
        await transport.slot(due, slotAt)
      } else p.skipped += values
    }
    slot = (slot + 1) % SLOTS
    slotAt += INTERVAL_MS / SLOTS
    // A slot more than a whole interval late is not sent late: it is counted as skipped, as the
    // loadtest's simulator does, so the shortfall shows instead of a burst.
    while (slotAt < Date.now() - INTERVAL_MS) {
      p.skipped += slotHosts(slot).length * valuesPerHostTick
      slot = (slot + 1) % SLOTS
      slotAt += INTERVAL_MS / SLOTS
    }
  }
  await transport.drain()
  clearInterval(progress)
  send({ type: 'done', ...p, atMs: Date.now() })
}

const agent = new Agent({ keepAlive: true, maxSockets: HTTP_CONCURRENCY })

/** One POST through node:http: fetch copied every multi-megabyte body once more before sending it. */
function post(url: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

function httpTransport(
  target: Extract<FeedTarget, { kind: 'victoria-metrics' }>,
  p: FeedProgress,
): Transport {
  const url = `${target.url}${IMPORT_PATH[target.format]}`
  const texts = new Map<SyntheticHost, HostSeriesText>()
  const writer = new BodyWriter()
  const queue: { body: Buffer; values: number; envelopes: number }[] = []
  let queuedValues = 0
  let inFlight = 0
  let idle: (() => void) | undefined
  let reported = false
  const pump = (): void => {
    while (inFlight < HTTP_CONCURRENCY && queue.length > 0) {
      const job = queue.shift() as (typeof queue)[number]
      inFlight++
      void post(url, job.body)
        .then(({ status, text }) => {
          if (status >= 200 && status < 300) {
            p.acked += job.values
            p.ackedEnvelopes += job.envelopes
          } else {
            p.errors++
            if (!reported) process.stderr.write(`import answered ${String(status)}: ${text.slice(0, 300)}\n`)
            reported = true
          }
        })
        .catch((err: unknown) => {
          p.errors++
          if (!reported) process.stderr.write(`import failed: ${String(err)}\n`)
          reported = true
        })
        .finally(() => {
          inFlight--
          queuedValues -= job.values
          pump()
          if (inFlight === 0 && queue.length === 0) idle?.()
        })
    }
  }
  return {
    // A slot holds a tenth of a second's values.
    room: (values) => queuedValues + values <= QUEUE_SECONDS * SLOTS * values,
    slot: (hosts, tsMs) => {
      const suffix = valueSuffix(target.format, tsMs)
      let values = 0
      for (const h of hosts) {
        let t = texts.get(h)
        if (!t) texts.set(h, (t = new HostSeriesText(h.id.hostId, target.format)))
        values += t.render(h.samples, suffix, writer)
      }
      queue.push({ body: writer.take(), values, envelopes: hosts.length * (hosts[0]?.samples.length ?? 0) })
      queuedValues += values
      pump()
      return Promise.resolve()
    },
    drain: () =>
      inFlight === 0 && queue.length === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            idle = resolve
          }),
  }
}

async function kafkaTransport(
  target: Extract<FeedTarget, { kind: 'kafka' }>,
  recordsPerHostTick: number,
  valuesPerHostTick: number,
  p: FeedProgress,
): Promise<Transport> {
  const logger = createLogger('bench-fleet-feed', { level: 'warn' })
  const codec = envelopeCodec()
  const kafka = createKafka(target.brokers, 'bench-fleet-feed', logger)
  const producers: Producer[] = Array.from({ length: PRODUCERS }, () =>
    kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }),
  )
  await Promise.all(producers.map((x) => x.connect()))
  const inFlight: Promise<void>[] = producers.map(() => Promise.resolve())
  return {
    room: () => true,
    slot: async (hosts, tsMs) => {
      const batches: { key: string; value: Buffer }[][] = producers.map(() => [])
      const values: number[] = producers.map(() => 0)
      for (const h of hosts) {
        const records = h.samples.map((sample) =>
          codec.encode({
            tenant: target.tenant,
            host_id: h.id.hostId,
            hostname: h.id.hostname,
            agent_id: h.id.agentId,
            seq: h.seq++,
            ts_us: tsMs * 1000,
            interval_ms: INTERVAL_MS,
            sample,
          }),
        )
        // Host i always goes through the same producer, so one host's messages stay in order.
        const index = Number(h.id.hostId.slice(h.id.hostId.lastIndexOf('-') + 1)) % producers.length
        ;(batches[index] as { key: string; value: Buffer }[]).push({
          key: sampleKey(target.tenant, h.id.hostId),
          value: Buffer.concat(records),
        })
        values[index] = (values[index] ?? 0) + valuesPerHostTick
      }
      batches.forEach((messages, i) => {
        if (messages.length === 0) return
        const producer = producers[i] as Producer
        inFlight[i] = (inFlight[i] as Promise<void>).then(async () => {
          try {
            await producer.send({ topic: target.topic, acks: -1, messages })
            p.acked += values[i] ?? 0
            p.ackedEnvelopes += messages.length * recordsPerHostTick
          } catch (err) {
            p.errors++
            logger.error({ err }, 'send failed')
          }
        })
      })
      // Back-pressure as the loadtest's simulator: at most one slot queued behind the one in flight.
      await Promise.all(inFlight)
    },
    drain: async () => {
      await Promise.all(inFlight)
      await Promise.all(producers.map((x) => x.disconnect()))
    },
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) })
    process.exit(1)
  },
)
