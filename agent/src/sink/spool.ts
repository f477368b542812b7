import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { CatalogueError } from '#platform/errors.ts'
import { SPOOL_CATALOGUE, type SpoolErrorCode } from '../errors.ts'
import { crc32 } from './crc32.ts'

/**
 * When the spool's writes reach the disk itself (not just the page cache):
 * - `always`: after every append and every acknowledged position. Nothing acknowledged to the caller
 *   is lost even on power loss, at the price of one fdatasync per batch of samples.
 * - `interval` (default): each segment when it is rolled, and the open segment, the ack file and the
 *   folder at most every `fsyncIntervalMs`. A crash of the agent loses nothing (the page cache
 *   survives it); an OS crash or power loss loses at most the last interval of spooled samples and
 *   may resend up to the last interval of acknowledged ones. At 10 Hz this bounds the exposure to
 *   about one second for one fsync per second.
 * - `never`: the kernel writes back when it likes (typically within 30 s); a process crash still
 *   loses nothing.
 * fsync runs synchronously on the agent's one thread: an append-only file's fdatasync is usually
 * well under a millisecond and never overlaps a segment being closed or deleted.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never'

export interface SpoolOptions {
  dir: string
  /** Cap on the spool's files; beyond it the oldest segment is deleted and its records counted. */
  maxBytes: number
  fsync: FsyncPolicy
  fsyncIntervalMs?: number
  /** Size at which a segment is closed and a new one started (default maxBytes/8, 64 KiB to 8 MiB). */
  segmentBytes?: number
}

export interface SpoolStats {
  /** Records written and not yet acknowledged. */
  records: number
  /** Bytes of the segment files, headers included. */
  bytes: number
  segments: number
  /** Records deleted unsent because the cap was reached. */
  droppedRecords: number
  /** Unacknowledged records found on disk when the spool was opened. */
  recoveredRecords: number
  /** Bytes cut from segments at open because a record was torn or failed its CRC. */
  truncatedBytes: number
  /** Background fsyncs (policy `interval`) that failed; the data stays in the page cache. */
  fsyncErrors: number
}

export class SpoolError extends CatalogueError<SpoolErrorCode> {
  readonly component = 'agent.spool'
  constructor(code: SpoolErrorCode, message: string) {
    super(SPOOL_CATALOGUE, code, message)
  }
}

interface Segment {
  seq: number
  fd: number
  bytes: number
  records: number
  dirty: boolean
}

interface Position {
  seq: number
  offset: number
  index: number
}

/** Record header: payload length, then CRC-32 of the payload, both little-endian u32. */
const HEADER = 8
const MAX_RECORD = 64 * 1024 * 1024
/** Ack file: magic, segment seq, byte offset in it, CRC-32 of the first 12 bytes. */
const ACK_MAGIC = 0x4b415350
const ACK_BYTES = 16
const SEGMENT_RE = /^(\d{16})\.seg$/

const segmentName = (seq: number): string => `${String(seq).padStart(16, '0')}.seg`

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length)
  let done = 0
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done)
    if (n === 0) break
    done += n
  }
  return done === length ? buf : buf.subarray(0, done)
}

function writeAt(fd: number, buf: Buffer, position: number): void {
  let done = 0
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, position + done)
}

/** Changes at every boot, so a lock written before a reboot is stale even if its pid was reused. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return ''
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * An append-only spool of records on disk, in order: segment files `<seq>.seg` of length-prefixed,
 * CRC-checked records, plus an `ack` file holding the position up to which records were delivered.
 * A reader takes a batch from the acknowledged position (`read`), then either confirms it (`ack`, which
 * deletes fully delivered segments and persists the new position) or gives it back (`release`).
 * Opening a folder again finds every record written before a crash; a torn last record is cut off.
 */
export class Spool {
  private readonly segments: Segment[] = []
  private readonly dir: string
  private readonly segmentBytes: number
  private readonly ackFd: number
  private readonly lockFile: string
  private readonly timer: NodeJS.Timeout | undefined
  private nextSeq = 0
  /** The acknowledged position lies in segments[0]: its byte offset and record index there. */
  private ackOffset = 0
  private ackIndex = 0
  private reserved = 0
  private reservedEnd: Position | undefined
  private totalBytes = 0
  private totalRecords = 0
  private ackDirty = false
  private dirDirty = false
  private dropped = 0
  private readonly recovered: number
  private truncated = 0
  private fsyncErrors = 0
  private closed = false

  private constructor(private readonly o: SpoolOptions) {
    this.dir = o.dir
    this.segmentBytes =
      o.segmentBytes ?? Math.max(64 * 1024, Math.min(8 * 1024 * 1024, Math.floor(o.maxBytes / 8)))
    mkdirSync(this.dir, { recursive: true })
    this.lockFile = join(this.dir, 'lock')
    this.lock()
    try {
      this.ackFd = this.openAck()
      this.recover()
    } catch (err) {
      unlinkSync(this.lockFile)
      throw err
    }
    this.recovered = this.pendingRecords
    if (o.fsync === 'interval') {
      this.timer = setInterval(() => {
        try {
          this.sync()
        } catch {
          // A timer must not crash the agent over a failed fsync; it is counted and retried next tick.
          this.fsyncErrors++
        }
      }, o.fsyncIntervalMs ?? 1000)
      this.timer.unref()
    }
  }

  static open(o: SpoolOptions): Spool {
    return new Spool(o)
  }

  /** Records not yet acknowledged, including those handed out by `read` and not confirmed. */
  get pendingRecords(): number {
    return this.totalRecords - this.ackIndex
  }

  get stats(): SpoolStats {
    return {
      records: this.pendingRecords,
      bytes: this.totalBytes,
      segments: this.segments.length,
      droppedRecords: this.dropped,
      recoveredRecords: this.recovered,
      truncatedBytes: this.truncated,
      fsyncErrors: this.fsyncErrors,
    }
  }

  /**
   * Appends in order; all or nothing: on an I/O error nothing of this call stays and it throws.
   * With `inFlight`, the first that many records are already being sent (memory moving to an empty
   * spool during a send): they are held as a batch out, as `read` holds one, before the cap is
   * applied, so that the cap cannot delete them and `ack` confirms exactly them.
   */
  append(records: readonly Buffer[], inFlight = 0): void {
    this.assertOpen()
    if (records.length === 0) return
    if (inFlight > 0 && (this.reserved > 0 || this.pendingRecords > 0 || inFlight > records.length))
      throw new SpoolError('SPOOL_BUSY', 'records in flight can only move into an empty spool')
    const count = this.segments.length
    const last = this.segments.at(-1)
    const lastBytes = last?.bytes ?? 0
    const lastRecords = last?.records ?? 0
    try {
      let i = 0
      while (i < records.length) {
        const first = records[i]
        if (!first || first.length === 0 || first.length > MAX_RECORD)
          throw new SpoolError('SPOOL_BAD_RECORD', `record of ${first?.length ?? 0} bytes cannot be spooled`)
        const tail = this.writable(HEADER + first.length)
        const start = i
        let size = 0
        for (; i < records.length; i++) {
          const r = records[i]
          if (!r || r.length === 0 || r.length > MAX_RECORD) break
          if (size > 0 && tail.bytes + size + HEADER + r.length > this.segmentBytes) break
          size += HEADER + r.length
        }
        const buf = Buffer.allocUnsafe(size)
        let p = 0
        for (let k = start; k < i; k++) {
          const r = records[k] as Buffer
          buf.writeUInt32LE(r.length, p)
          buf.writeUInt32LE(crc32(r), p + 4)
          r.copy(buf, p + HEADER)
          p += HEADER + r.length
        }
        writeAt(tail.fd, buf, tail.bytes)
        tail.bytes += size
        tail.records += i - start
        tail.dirty = true
        this.totalBytes += size
        this.totalRecords += i - start
      }
      if (inFlight > 0) {
        this.reservedEnd = this.walk(inFlight, Number.MAX_SAFE_INTEGER, 0, false).end
        this.reserved = inFlight
      }
      if (this.o.fsync === 'always') this.sync()
    } catch (err) {
      if (inFlight > 0) {
        this.reserved = 0
        this.reservedEnd = undefined
      }
      this.rollback(count, lastBytes, lastRecords)
      throw err
    }
    this.evict()
  }

  /**
   * Hands out the oldest unacknowledged records, at most `maxRecords`, and holds them for `ack` or
   * `release`: the first one always, each further one only while the payload, counting
   * `perRecordBytes` more for each record, stays within `maxBytes`. Only one batch may be out at a time.
   */
  read(maxBytes: number, maxRecords = Number.MAX_SAFE_INTEGER, perRecordBytes = 0): Buffer[] {
    this.assertOpen()
    if (this.reserved > 0) throw new SpoolError('SPOOL_BUSY', 'a batch is already out; ack or release it')
    const { records, end } = this.walk(maxRecords, maxBytes, perRecordBytes, true)
    this.reserved = records.length
    this.reservedEnd = end
    return records
  }

  /** The batch out was delivered: move the acknowledged position past it and persist that. */
  ack(): void {
    this.assertOpen()
    const end = this.reservedEnd
    if (this.reserved === 0 || !end) return
    this.reserved = 0
    this.reservedEnd = undefined
    while (this.segments[0] && this.segments[0].seq < end.seq) this.deleteHead()
    this.ackOffset = end.offset
    this.ackIndex = end.index
    this.dropDelivered()
    this.writeAck()
    this.evict()
  }

  /** The batch out was not delivered: it will be handed out again by the next `read`. */
  release(): void {
    this.reserved = 0
    this.reservedEnd = undefined
    this.evict()
  }

  /** Flush to disk (unless the policy is `never`) and close the files; the folder can be opened again. */
  close(): void {
    if (this.closed) return
    if (this.timer) clearInterval(this.timer)
    if (this.o.fsync !== 'never') this.sync()
    for (const s of this.segments) closeSync(s.fd)
    closeSync(this.ackFd)
    this.segments.length = 0
    this.closed = true
    try {
      unlinkSync(this.lockFile)
    } catch {
      // Already gone: nothing to release.
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new SpoolError('SPOOL_CLOSED', `spool ${this.dir} is closed`)
  }

  /** Two agents appending to one folder would interleave segments: a pid lock keeps one at a time. */
  private lock(): void {
    const mine = `${process.pid} ${bootId()}\n`
    try {
      writeFileSync(this.lockFile, mine, { flag: 'wx' })
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const [pidText, boot] = readFileSync(this.lockFile, 'utf8').trim().split(' ')
    const pid = Number(pidText)
    const sameBoot = boot === undefined || boot === bootId()
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && sameBoot && isAlive(pid))
      throw new SpoolError('SPOOL_LOCKED', `spool ${this.dir} is in use by process ${pid}`)
    // A lock left by a process that died, by an earlier boot or by this process is stale.
    writeFileSync(this.lockFile, mine)
  }

  private openAck(): number {
    const path = join(this.dir, 'ack')
    try {
      return openSync(path, 'r+')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      this.dirDirty = true
      return openSync(path, 'w+')
    }
  }

  private readAck(): { seq: number; offset: number } | undefined {
    const buf = readAt(this.ackFd, 0, ACK_BYTES)
    if (buf.length < ACK_BYTES || buf.readUInt32LE(0) !== ACK_MAGIC) return undefined
    if (crc32(buf, 0, 12) !== buf.readUInt32LE(12)) return undefined
    return { seq: buf.readUInt32LE(4), offset: buf.readUInt32LE(8) }
  }

  private writeAck(): void {
    const head = this.segments[0]
    const buf = Buffer.alloc(ACK_BYTES)
    buf.writeUInt32LE(ACK_MAGIC, 0)
    // With no segment left, "everything before nextSeq" is delivered.
    buf.writeUInt32LE(head ? head.seq : this.nextSeq, 4)
    buf.writeUInt32LE(head ? this.ackOffset : 0, 8)
    buf.writeUInt32LE(crc32(buf, 0, 12), 12)
    // 16 bytes at offset 0 sit in one sector; a torn write fails the CRC and replays from the oldest segment.
    writeAt(this.ackFd, buf, 0)
    this.ackDirty = true
    if (this.o.fsync === 'always') this.sync()
  }

  private recover(): void {
    const ack = this.readAck()
    const seqs = readdirSync(this.dir)
      .map((f) => SEGMENT_RE.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
    for (const seq of seqs) {
      const path = join(this.dir, segmentName(seq))
      if (ack && seq < ack.seq) {
        // Fully delivered; the crash came between persisting the ack and deleting the file.
        unlinkSync(path)
        this.dirDirty = true
        continue
      }
      const fd = openSync(path, 'r+')
      const size = fstatSync(fd).size
      const buf = readAt(fd, 0, size)
      let p = 0
      let records = 0
      let ackAt: { offset: number; index: number } | undefined
      if (ack && seq === ack.seq) ackAt = { offset: 0, index: 0 }
      while (p + HEADER <= buf.length) {
        const len = buf.readUInt32LE(p)
        const end = p + HEADER + len
        // Zero length also rejects a zero-filled tail, which a crash can leave after a file was extended.
        if (len === 0 || len > MAX_RECORD || end > buf.length) break
        if (crc32(buf, p + HEADER, end) !== buf.readUInt32LE(p + 4)) break
        p = end
        records++
        if (ack && ackAt && end <= ack.offset) ackAt = { offset: end, index: records }
      }
      if (p < size) {
        ftruncateSync(fd, p)
        this.truncated += size - p
        if (this.o.fsync !== 'never') fdatasyncSync(fd)
      }
      if (records === 0) {
        closeSync(fd)
        unlinkSync(path)
        this.dirDirty = true
        continue
      }
      if (this.segments.length === 0 && ackAt) {
        this.ackOffset = ackAt.offset
        this.ackIndex = ackAt.index
      }
      this.segments.push({ seq, fd, bytes: p, records, dirty: false })
      this.totalBytes += p
      this.totalRecords += records
    }
    const last = this.segments.at(-1)
    this.nextSeq = Math.max(last ? last.seq + 1 : 0, ack ? ack.seq : 0)
    this.dropDelivered()
  }

  /** The segment to append `need` bytes to, rolling to a new one when the current one is full. */
  private writable(need: number): Segment {
    const last = this.segments.at(-1)
    if (last && (last.bytes === 0 || last.bytes + need <= this.segmentBytes)) return last
    if (last && this.o.fsync !== 'never' && last.dirty) {
      fdatasyncSync(last.fd)
      last.dirty = false
    }
    const seq = this.nextSeq++
    const fd = openSync(join(this.dir, segmentName(seq)), 'wx+')
    const seg: Segment = { seq, fd, bytes: 0, records: 0, dirty: false }
    this.segments.push(seg)
    this.dirDirty = true
    return seg
  }

  private rollback(count: number, lastBytes: number, lastRecords: number): void {
    while (this.segments.length > Math.max(count, 1) || (count === 0 && this.segments.length > 0)) {
      const s = this.segments.pop() as Segment
      this.quietly(() => {
        closeSync(s.fd)
      })
      this.quietly(() => {
        unlinkSync(join(this.dir, segmentName(s.seq)))
      })
    }
    const last = this.segments.at(-1)
    if (last && count > 0) {
      this.quietly(() => {
        ftruncateSync(last.fd, lastBytes)
      })
      last.bytes = lastBytes
      last.records = lastRecords
    }
    this.totalBytes = this.segments.reduce((n, s) => n + s.bytes, 0)
    this.totalRecords = this.segments.reduce((n, s) => n + s.records, 0)
  }

  private quietly(fn: () => void): void {
    try {
      fn()
    } catch {
      // Best effort while undoing a failed append; the original error is what the caller sees.
    }
  }

  /** Walks from the acknowledged position over the records `read` describes. */
  private walk(
    maxRecords: number,
    maxBytes: number,
    perRecordBytes: number,
    collect: boolean,
  ): { records: Buffer[]; end: Position } {
    const records: Buffer[] = []
    let k = 0
    let offset = this.ackOffset
    let index = this.ackIndex
    let count = 0
    let bytes = 0
    let full = false
    while (!full && count < maxRecords) {
      const seg = this.segments[k]
      if (!seg) break
      if (offset >= seg.bytes) {
        if (k + 1 >= this.segments.length) break
        k++
        offset = 0
        index = 0
        continue
      }
      const firstLen = readAt(seg.fd, offset, HEADER).readUInt32LE(0)
      const want = Math.min(seg.bytes - offset, Math.max(HEADER + firstLen, maxBytes - bytes + 64 * 1024))
      const buf = readAt(seg.fd, offset, want)
      let p = 0
      while (p + HEADER <= buf.length && count < maxRecords) {
        const len = buf.readUInt32LE(p)
        if (p + HEADER + len > buf.length) break
        if (count > 0 && bytes + len + perRecordBytes > maxBytes) {
          full = true
          break
        }
        if (collect) records.push(buf.subarray(p + HEADER, p + HEADER + len))
        p += HEADER + len
        count++
        bytes += len + perRecordBytes
        index++
      }
      offset += p
    }
    const seg = this.segments[k]
    return { records, end: { seq: seg ? seg.seq : this.nextSeq, offset, index } }
  }

  /** Deletes segments every record of which was delivered, the open one included. */
  private dropDelivered(): void {
    for (let head = this.segments[0]; head && this.ackIndex >= head.records; head = this.segments[0]) {
      this.deleteHead()
    }
  }

  private deleteHead(): void {
    const head = this.segments.shift()
    if (!head) return
    closeSync(head.fd)
    unlinkSync(join(this.dir, segmentName(head.seq)))
    this.totalBytes -= head.bytes
    this.totalRecords -= head.records
    this.ackOffset = 0
    this.ackIndex = 0
    this.dirDirty = true
    if (this.o.fsync === 'always') this.syncDir()
  }

  /** Over the cap: delete the oldest segments, except one holding records of a send in flight. */
  private evict(): void {
    while (this.totalBytes > this.o.maxBytes && this.segments.length > 1 && this.reserved === 0) {
      const head = this.segments[0] as Segment
      this.dropped += head.records - this.ackIndex
      this.deleteHead()
    }
  }

  private sync(): void {
    if (this.closed) return
    for (const s of this.segments) {
      if (!s.dirty) continue
      fdatasyncSync(s.fd)
      s.dirty = false
    }
    if (this.ackDirty) {
      fdatasyncSync(this.ackFd)
      this.ackDirty = false
    }
    this.syncDir()
  }

  /** New and deleted segment files are entries of the folder, durable only once it is synced. */
  private syncDir(): void {
    if (!this.dirDirty) return
    const fd = openSync(this.dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    this.dirDirty = false
  }
}
