/**
 * The order an agent's records reach the topic in, through the real ingest gateway (in this process,
 * with its real key check, record packing and Kafka writer) from the real sink, spool and transport.
 * Only the key table (held in memory) and the broker stand in; the broker holds every produce request
 * until the test lets it land, and then lands the requests waiting side by side newest first, an
 * order the gateway's parallel producers can take. The processor's sequence guard drops a record at
 * or below the highest seq stored for its agent, so a record that lands after a newer one of its
 * agent is lost.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kafka, Producer, ProducerRecord } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { readIngestConfig, startIngestGateway, type RunningGateway } from '#test/support/components/ingest.ts'
import { createLogger } from '#platform/logger.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { Sample } from '#schemas/src/families.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { envelopeOf } from '../envelope.ts'
import { Sampler } from '../sampler.ts'
import { IngestTransport } from './ingest-transport.ts'
import { Spool } from './spool.ts'
import { SpoolingSink } from './spooling-sink.ts'

const silent = createLogger('delivery-order-test', { level: 'silent' })
const codec = envelopeCodec()
/** The longest tenant name there is: the gateway makes every record longer by swapping it in. */
const TENANT = `t${'x'.repeat(62)}`
const SPILL_BYTES = 1024 * 1024
const FIXTURE_PROC = new URL('../collectors/__fixtures__/live-t0/proc', import.meta.url).pathname

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

/** Samples as the agent's own sampler reads them from a recorded /proc: about 80 to 800 bytes encoded. */
function fixtureSamples(): Sample[] {
  const sampler = new Sampler(FIXTURE_PROC, () => undefined)
  const samples = ['memory', 'cpu', 'pressure', 'network', 'vmstat', 'load'].map((f) => sampler.sample(f))
  sampler.close()
  return samples.filter((s): s is Sample => s !== undefined)
}

/** One agent run: its records carry its agent_id and seq 0, 1, 2, … as the agent's main loop makes them. */
class Run {
  private seq = 0
  constructor(
    readonly agentId: string,
    private readonly samples: Sample[],
  ) {}
  get made(): number {
    return this.seq
  }
  /** Enqueues records until `stop` says so (checked after each), returning how many it enqueued. */
  feed(sink: SpoolingSink, stop: () => boolean): number {
    const first = this.seq
    do {
      if (this.seq - first > 100_000)
        throw new Error(`${this.agentId}: fed 100,000 records and still waiting`)
      const sample = this.samples[this.seq % this.samples.length] as Sample
      const id = { hostId: 'web-1', hostname: 'web-1', agentId: this.agentId }
      sink.enqueue(
        codec.encode(envelopeOf({ tenant: 'local', id }, this.seq++, Date.now() * 1000, 100, sample)),
      )
    } while (!stop())
    return this.seq - first
  }
}

/**
 * Stands in for Kafka behind the gateway's producers. A produce request waits while `holding`; then
 * the requests waiting side by side land newest first (a later one may land first: the gateway sends
 * them on different producers). With `failing`, every produce request is refused, as by a broker that
 * went away, and nothing of it lands.
 */
class Broker {
  /** `agent_id/seq` of every record, in the order it landed. */
  readonly landed: string[] = []
  /** How many Kafka messages each landed produce request carried. */
  readonly messagesPerSend: number[] = []
  holding = false
  failing = false
  private readonly waiting: { record: ProducerRecord; land: () => void }[] = []
  private landing = false

  readonly kafka = {
    producer: () =>
      ({
        connect: () => Promise.resolve(),
        disconnect: () => Promise.resolve(),
        send: (record: ProducerRecord) => this.send(record),
      }) as unknown as Producer,
  } as unknown as Kafka

  get waitingSends(): number {
    return this.waiting.length
  }

  release(): void {
    this.holding = false
    this.landSoon()
  }

  private send(record: ProducerRecord): Promise<void> {
    if (this.failing) return Promise.reject(new Error('the broker is away'))
    return new Promise((resolve) => {
      this.waiting.push({ record, land: resolve })
      this.landSoon()
    })
  }

  /** After this turn: the gateway hands a request's pieces to its producers all in one turn. */
  private landSoon(): void {
    if (this.holding || this.landing) return
    this.landing = true
    setImmediate(() => {
      this.landing = false
      if (this.holding) return
      for (let w = this.waiting.pop(); w; w = this.waiting.pop()) {
        this.messagesPerSend.push(w.record.messages.length)
        for (const m of w.record.messages)
          for (const e of codec.decodeAll(m.value as Buffer))
            this.landed.push(`${e.agent_id}/${String(e.seq)}`)
        w.land()
      }
    })
  }
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function gatewayOver(broker: Broker): Promise<{ gateway: RunningGateway; key: string }> {
  const { auth, keys } = await memoryKeys([{ tenant: TENANT, scopes: ['ingest'] }])
  const gateway = await startIngestGateway({
    config: { ...readIngestConfig({}, '/nonexistent'), port: 0 },
    kafka: broker.kafka,
    auth,
    logger: silent,
    readiness: [],
  })
  cleanups.push(async () => {
    await gateway.stop()
    auth.stop()
  })
  return { gateway, key: keys[0] ?? '' }
}

/** The sink as the agent's main loop makes it, with a batch linger short enough for a test. */
function agentSink(url: string, key: string, spool: Spool): SpoolingSink {
  const sink = new SpoolingSink({
    transport: new IngestTransport({ url, key, logger: silent }),
    logger: silent,
    sendAtBytes: 64 * 1024,
    lingerMs: 20,
    maxQueueBytes: 64 * 1024 * 1024,
    spool,
    spillBytes: SPILL_BYTES,
    // Only the size makes memory spill here, never a slow answer.
    spillAfterMs: 60_000,
  })
  cleanups.push(() => sink.stop(0))
  return sink
}

describe('delivery order through the ingest gateway', () => {
  it(
    'lands every record once and in seq order when memory spills while a send is held, and after a restart from the spool',
    { timeout: 60_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'delivery-order-test-'))
      cleanups.push(() => {
        rmSync(dir, { recursive: true, force: true })
      })
      const broker = new Broker()
      const { gateway, key } = await gatewayOver(broker)
      const samples = fixtureSamples()
      const first = new Run('run-1', samples)

      // A send goes out from memory and is held open at the broker.
      broker.holding = true
      const spool = Spool.open({ dir, maxBytes: 256 << 20, fsync: 'never' })
      const sink = agentSink(gateway.url, key, spool)
      await sink.start()
      first.feed(sink, () => true)
      await until('a send to be held at the broker', () => broker.waitingSends > 0)
      // Records keep coming until memory passes the spill size: memory, the held send's records
      // included, moves to the spool.
      first.feed(sink, () => sink.stats.spooledRecords > 0)
      expect(sink.stats).toMatchObject({ spooledRecords: first.made, queuedBytes: 0, sentRecords: 0 })
      expect(broker.waitingSends).toBe(1)
      // More than another request's worth goes straight to the spool behind them.
      first.feed(sink, () => sink.stats.spooledBytes > 2 * SPILL_BYTES)
      broker.release()
      await until('run 1 to be delivered', () => sink.stats.queuedRecords === 0)
      const delivered = first.made
      expect(broker.landed).toEqual(range(0, delivered).map((s) => `run-1/${String(s)}`))

      // The broker goes away: what comes now is refused (503), spooled, and still there at stop.
      broker.failing = true
      first.feed(sink, () => sink.stats.queuedBytes > SPILL_BYTES / 2)
      await until(
        'the refused records to be spooled',
        () => sink.stats.spooledRecords === first.made - delivered,
      )
      first.feed(sink, () => sink.stats.spooledBytes > SPILL_BYTES * 1.5)
      await sink.stop(100)
      expect(broker.landed).toHaveLength(delivered)

      // The next run sends what the previous one left before its own records.
      const reopened = Spool.open({ dir, maxBytes: 256 << 20, fsync: 'never' })
      expect(reopened.pendingRecords).toBe(first.made - delivered)
      broker.failing = false
      const second = new Run('run-2', samples)
      const next = agentSink(gateway.url, key, reopened)
      await next.start()
      second.feed(next, () => second.made === 500)
      await until('both runs to be delivered', () => next.stats.queuedRecords === 0)
      await next.stop()

      expect(broker.landed).toEqual([
        ...range(0, first.made).map((s) => `run-1/${String(s)}`),
        ...range(0, second.made).map((s) => `run-2/${String(s)}`),
      ])
      // Each request reached Kafka as one message: nothing the gateway could land in two pieces.
      expect(new Set(broker.messagesPerSend)).toEqual(new Set([1]))
      expect(next.stats).toMatchObject({ droppedRecords: 0, queuedRecords: 0 })
    },
  )
})
