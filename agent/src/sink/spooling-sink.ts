import type { Logger } from '#platform/logger.ts'
import type { Spool } from './spool.ts'
import { MAX_RECORD_BYTES } from '#schemas/src/admission.ts'
import { MAX_RETRY_AFTER_MS, type FailureAdvice, type Transport } from './transport.ts'
import { LogEvery } from '#platform/log-every.ts'
import { doubled } from '#platform/backoff.ts'
import { sleep, within } from '#platform/time.ts'

export interface SpoolingSinkOptions {
  transport: Transport
  logger: Logger
  /** Memory holding this many bytes is sent at once instead of waiting out the linger. */
  sendAtBytes: number
  /** How long a record may wait for companions before its batch is sent. */
  lingerMs: number
  /** Bound on queued, unacknowledged bytes in memory; beyond it the oldest records are dropped and counted. */
  maxQueueBytes: number
  /** Where records go when they cannot be sent; without one they wait in memory only. */
  spool?: Spool
  /** With a spool: memory holding more than this many bytes moves to the spool (default 1 MiB). */
  spillBytes?: number
  /** With a spool: a send still unanswered after this long moves memory to the spool (default 2 s). */
  spillAfterMs?: number
  /**
   * A record over this many bytes is dropped when it is enqueued, logged and counted: no Kafka broker
   * (and no gateway) would take it, and resending it would hold up everything behind it for ever.
   * Default MAX_RECORD_BYTES (schemas/src/admission.ts), the limit the gateway refuses with 413.
   */
  maxRecordBytes?: number
}

export interface SinkStats {
  /** Unacknowledged records, in memory and in the spool. */
  queuedRecords: number
  /** Unacknowledged bytes held in memory. */
  queuedBytes: number
  spooledRecords: number
  spooledBytes: number
  sentRecords: number
  /** Kafka messages, or HTTP requests to the ingest gateway. */
  sentMessages: number
  sentBytes: number
  sendErrors: number
  /**
   * Records deleted unsent: oldest in memory past maxQueueBytes, oldest spool segments past its cap,
   * and the refused ones below.
   */
  droppedRecords: number
  /** Records dropped because they can never be stored: over maxRecordBytes, or refused by the gateway (400/413). */
  refusedRecords: number
}

interface Flight {
  from: 'memory' | 'spool'
  records: number
  bytes: number
  /** For a batch from memory: the queue index after its last record. */
  end: number
}

const RETRY_MIN_MS = 250
const RETRY_MAX_MS = 5_000

/**
 * Batches single-object-encoded records and hands them to a transport in order, one request at a
 * time, retrying with backoff until the transport reports them acknowledged.
 *
 * Records wait in memory while the destination answers. With a spool, records that cannot be sent (a
 * send failed or has hung for spillAfterMs, or memory holds more than spillBytes) move to disk, and
 * records arriving while the spool is non-empty are appended to it. Order holds because every spooled
 * record is older than every record in memory: records only move from memory to the spool's end as a
 * whole, new records go to the spool only while memory is empty, and the sender drains the spool before
 * memory. A record leaves either place only once the destination has acknowledged it. On the
 * destination's side order holds because no request exceeds the transport's maxRequest: one request
 * at a time is not enough when the destination cuts a larger one into pieces it writes side by side, as
 * gateways before 2026-12-07 did.
 */
export class SpoolingSink {
  private readonly mem = { records: 0, bytes: 0, dropped: 0, refused: 0 }
  private readonly refusedLog = new LogEvery(60_000, 0)
  private readonly sent = { records: 0, messages: 0, bytes: 0, errors: 0 }
  private readonly queue: Buffer[] = []
  private head = 0
  private timer: NodeJS.Timeout | undefined
  private spillTimer: NodeJS.Timeout | undefined
  private sending: Promise<void> | undefined
  private flight: Flight | undefined
  private retryDelay = RETRY_MIN_MS
  private lastFailed = false
  /** A transport asked for no attempt before this time (e.g. HTTP 503 with Retry-After). */
  private notBefore = 0
  /**
   * After a failed send, the next one carries exactly the same records. Kafka needs this: the repeat
   * then packs into the same messages, so if the broker did write the failed request (only its answer
   * was lost), the idempotent producer's repeat has the same sequence range and the broker discards
   * it; a batch with more messages under the same first sequence would be refused as out of order.
   */
  private retryRecords: number | undefined
  private stopped = false
  private readonly spoolErrorLog = new LogEvery(60_000, 0)
  private spillBlockedUntil = 0

  constructor(private readonly o: SpoolingSinkOptions) {}

  get stats(): SinkStats {
    const spool = this.o.spool?.stats
    return {
      queuedRecords: this.mem.records + (spool?.records ?? 0),
      queuedBytes: this.mem.bytes,
      spooledRecords: spool?.records ?? 0,
      spooledBytes: spool?.bytes ?? 0,
      sentRecords: this.sent.records,
      sentMessages: this.sent.messages,
      sentBytes: this.sent.bytes,
      sendErrors: this.sent.errors,
      droppedRecords: this.mem.dropped + this.mem.refused + (spool?.droppedRecords ?? 0),
      refusedRecords: this.mem.refused,
    }
  }

  /** Connect now; if the destination is not there, sends keep trying to connect and records stay queued. */
  async start(): Promise<void> {
    // Records a previous run left in the spool go first.
    if (this.spoolPending() > 0) this.kick(0)
    await this.o.transport.connect()
  }

  enqueue(record: Buffer): void {
    const maxRecordBytes = this.o.maxRecordBytes ?? MAX_RECORD_BYTES
    if (record.length > maxRecordBytes) {
      this.refused(
        1,
        `the record is ${String(record.length)} bytes, over the ${String(maxRecordBytes)} a Kafka message can carry`,
      )
      return
    }
    const spool = this.o.spool
    if (spool && this.mem.records === 0 && spool.pendingRecords > 0) {
      try {
        spool.append([record])
        this.kick(this.o.lingerMs)
        return
      } catch (err) {
        this.spoolFailed(err)
      }
    }
    this.queue.push(record)
    this.mem.records++
    this.mem.bytes += record.length
    if (spool && this.mem.bytes > (this.o.spillBytes ?? 1024 * 1024)) this.spill()
    // Records of a send in flight are never dropped: the cap may be exceeded by what arrives during one send.
    if (!this.sending)
      while (this.mem.bytes > this.o.maxQueueBytes && this.head < this.queue.length) this.dropOldest()
    if (this.mem.bytes >= this.o.sendAtBytes) this.kick(0)
    else this.kick(this.o.lingerMs)
  }

  /** Send everything queued, waiting for acknowledgement (used at shutdown and by --once). */
  async flush(deadlineMs = 10_000): Promise<void> {
    const until = Date.now() + deadlineMs
    while (this.stats.queuedRecords > 0 && Date.now() < until) {
      // A transport can spend tens of seconds inside one send (kafkajs retries); the deadline bounds the wait.
      await within(this.sending ?? this.sendNow(), until - Date.now())
      if (this.stats.queuedRecords > 0 && Date.now() < until) await sleep(Math.min(this.retryDelay, 200))
    }
  }

  /**
   * Flush until the deadline; what is still unsent then goes to the spool (kept for the next start)
   * or is lost. A send still unanswered is abandoned: its records stay in the spool, so the next start
   * sends them again even if the destination did store them (one request, at most ~1 MB, may repeat).
   */
  async stop(flushDeadlineMs = 10_000): Promise<void> {
    await this.flush(flushDeadlineMs)
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    if (this.sending && this.o.spool) this.spill()
    else await within(this.sending, 1_000)
    this.spill()
    this.o.spool?.close()
    await within(this.o.transport.close(), 2_000)
  }

  private spoolPending(): number {
    return this.o.spool?.pendingRecords ?? 0
  }

  private kick(delayMs: number): void {
    if (this.stopped || this.sending || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.sendNow()
    }, delayMs)
  }

  private sendNow(): Promise<void> {
    if (this.sending) return this.sending
    if (this.head >= this.queue.length && this.spoolPending() === 0) return Promise.resolve()
    // Also reached from flush(), which does not wait for the timer: the transport's wait holds here too.
    const wait = this.notBefore - Date.now()
    if (wait > 0) {
      this.kick(wait)
      return Promise.resolve()
    }
    this.sending = this.sendBatch().finally(() => {
      this.sending = undefined
      this.flight = undefined
      if (this.spillTimer) clearTimeout(this.spillTimer)
      this.spillTimer = undefined
      if (this.head < this.queue.length || this.spoolPending() > 0)
        this.kick(this.lastFailed ? Math.max(this.retryDelay, this.notBefore - Date.now()) : 0)
    })
    return this.sending
  }

  /**
   * The oldest records: from the spool while it holds any, else from memory; within the transport's
   * maxRequest by the same rule either way, so a retry from the spool of a batch first sent from
   * memory holds exactly the same records.
   */
  private takeBatch(): { records: Buffer[]; flight: Flight } {
    const { bytes: maxBytes, perRecordBytes } = this.o.transport.maxRequest
    const spool = this.o.spool
    if (spool && spool.pendingRecords > 0) {
      const records = spool.read(maxBytes, this.retryRecords, perRecordBytes)
      const bytes = records.reduce((n, r) => n + r.length, 0)
      return { records, flight: { from: 'spool', records: records.length, bytes, end: 0 } }
    }
    const records: Buffer[] = []
    let i = this.head
    let bytes = 0
    let size = 0
    const limit = this.head + (this.retryRecords ?? Number.MAX_SAFE_INTEGER)
    for (; i < this.queue.length && i < limit; i++) {
      const r = this.queue[i] as Buffer
      if (i > this.head && size + r.length + perRecordBytes > maxBytes) break
      records.push(r)
      bytes += r.length
      size += r.length + perRecordBytes
    }
    return { records, flight: { from: 'memory', records: records.length, bytes, end: i } }
  }

  private async sendBatch(): Promise<void> {
    let batch: { records: Buffer[]; flight: Flight }
    try {
      batch = this.takeBatch()
    } catch (err) {
      // The spool could not be read; count it as a failed send so the retry backs off.
      this.failed(err)
      return
    }
    const { records, flight } = batch
    this.flight = flight
    if (flight.from === 'memory' && this.o.spool) {
      // A send can take long to fail (kafkajs retries an unreachable broker for tens of seconds, an
      // HTTP request may wait for its timeout): do not wait that long to get what is in memory onto disk.
      this.spillTimer = setTimeout(() => {
        this.spill()
      }, this.o.spillAfterMs ?? 2_000)
    }
    let messages: number
    try {
      await this.o.transport.connect()
      ;({ messages } = await this.o.transport.send(records))
    } catch (err) {
      const advice = this.o.transport.afterFailure?.(err)
      if (advice?.refused) {
        this.refusedByDestination(advice.refused, flight)
        return
      }
      this.failed(err, advice?.retryAfterMs)
      this.retryRecords = flight.records
      this.flight = undefined
      // The flight may have moved to the spool meanwhile (see spill); then it is given back there.
      if (flight.from === 'spool') this.o.spool?.release()
      this.spill()
      return
    }
    this.retryDelay = RETRY_MIN_MS
    this.lastFailed = false
    this.retryRecords = undefined
    // Only records the destination acknowledged leave the queue or the spool.
    if (flight.from === 'spool') {
      try {
        this.o.spool?.ack()
      } catch (err) {
        this.spoolFailed(err)
      }
    } else {
      for (let k = this.head; k < flight.end; k++) this.queue[k] = EMPTY
      this.head = flight.end
      this.mem.records -= flight.records
      this.mem.bytes -= flight.bytes
      this.compact()
    }
    this.sent.records += flight.records
    this.sent.messages += messages
    this.sent.bytes += flight.bytes
  }

  /**
   * The destination refused a record of this batch for what it is: that record is dropped (never
   * sent again), the others go on. When it named the record, the ones before it are sent first on
   * their own, so the refused one heads the next batch; when it did not, the batch is halved until
   * the refused record is alone. A record alone, or first, that is refused is dropped.
   */
  private refusedByDestination(refused: NonNullable<FailureAdvice['refused']>, flight: Flight): void {
    this.flight = undefined
    this.lastFailed = false
    this.retryDelay = RETRY_MIN_MS
    const { index } = refused
    if (flight.records > 1 && index !== 0) {
      // Not an error of the destination: no back-off, and nothing is dropped yet.
      this.retryRecords =
        index !== undefined && index < flight.records ? index : Math.ceil(flight.records / 2)
      if (flight.from === 'spool') this.o.spool?.release()
      return
    }
    this.retryRecords = undefined
    try {
      if (flight.from === 'spool') {
        const spool = this.o.spool
        spool?.release()
        spool?.read(Number.MAX_SAFE_INTEGER, 1)
        spool?.ack()
      } else {
        const r = this.queue[this.head] as Buffer
        this.queue[this.head] = EMPTY
        this.head++
        this.mem.records--
        this.mem.bytes -= r.length
        this.compact()
      }
    } catch (err) {
      // The spool could not drop it: it is sent again, refused again, and dropped then.
      this.spoolFailed(err)
      return
    }
    this.refused(1, refused.reason)
  }

  /** Counted, and logged at most once a minute: a host sending garbage at 10 Hz must not flood its log. */
  private refused(records: number, reason: string): void {
    this.mem.refused += records
    if (!this.refusedLog.due()) return
    this.o.logger.error(
      { refused: this.mem.refused, reason },
      `a record can never be stored by the ${this.o.transport.describe}: dropped, not resent`,
    )
  }

  private failed(err: unknown, retryAfterMs?: number): void {
    this.sent.errors++
    this.lastFailed = true
    this.retryDelay = doubled(this.retryDelay, RETRY_MAX_MS)
    const askedMs = Math.min(Math.max(retryAfterMs ?? 0, 0), MAX_RETRY_AFTER_MS)
    this.notBefore = Date.now() + askedMs
    this.o.logger.warn(
      {
        err: String(err),
        queued: this.stats.queuedRecords,
        retryInMs: Math.max(this.retryDelay, askedMs),
      },
      `${this.o.transport.describe} send failed; will retry`,
    )
  }

  /**
   * Moves everything in memory to the end of the spool. A send from memory may be in flight: its
   * records are then the first of the (until now empty) spool and are held there for its outcome,
   * in the same step, before the spool's cap could delete them.
   */
  private spill(): void {
    const spool = this.o.spool
    if (!spool || this.head >= this.queue.length || Date.now() < this.spillBlockedUntil) return
    const inFlight = this.flight?.from === 'memory' ? this.flight.records : 0
    if (inFlight > 0 && spool.pendingRecords > 0) return
    try {
      spool.append(this.queue.slice(this.head), inFlight)
    } catch (err) {
      // Copying all of memory again on every new record would be costly while the disk is failing.
      this.spillBlockedUntil = Date.now() + 1_000
      this.spoolFailed(err)
      return
    }
    if (this.flight && inFlight > 0) this.flight.from = 'spool'
    this.queue.length = 0
    this.head = 0
    this.mem.records = 0
    this.mem.bytes = 0
    this.o.logger.debug({ spooled: spool.pendingRecords }, 'records moved to the spool')
  }

  private spoolFailed(err: unknown): void {
    // Records stay in memory (bounded by maxQueueBytes); one line a minute is enough to show the disk is failing.
    if (!this.spoolErrorLog.due()) return
    this.o.logger.error({ err: String(err) }, 'spool write failed; records are kept in memory')
  }

  private dropOldest(): void {
    const r = this.queue[this.head]
    if (!r) return
    this.queue[this.head] = EMPTY
    this.head++
    this.mem.records--
    this.mem.bytes -= r.length
    this.mem.dropped++
    this.compact()
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head)
      this.head = 0
    }
  }
}

const EMPTY = Buffer.alloc(0)

/** Waits for `p` at most `ms`; `p` keeps running and its outcome is handled where it was started. */
