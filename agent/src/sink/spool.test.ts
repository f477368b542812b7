import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { crc32 } from './crc32.ts'
import { Spool, type SpoolOptions } from './spool.ts'

const dirs: string[] = []
const spools: Spool[] = []

afterEach(() => {
  for (const s of spools.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'spool-test-'))
  dirs.push(d)
  return d
}

function open(dir: string, o: Partial<SpoolOptions> = {}): Spool {
  const s = Spool.open({ dir, maxBytes: 1 << 20, fsync: 'never', segmentBytes: 1024, ...o })
  spools.push(s)
  return s
}

const rec = (i: number): Buffer => Buffer.from(`record-${String(i).padStart(5, '0')}-${'x'.repeat(i % 37)}`)
const ids = (records: Buffer[]): number[] => records.map((r) => Number(r.toString().slice(7, 12)))
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k)

/** Reads and acknowledges everything pending, in batches of about `batchBytes`. */
function drain(s: Spool, batchBytes = 300): number[] {
  const out: number[] = []
  for (;;) {
    const batch = s.read(batchBytes)
    if (batch.length === 0) return out
    out.push(...ids(batch))
    s.ack()
  }
}

const segments = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.seg'))

describe('crc32', () => {
  it('matches the IEEE check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926)
  })
})

describe('Spool', () => {
  it('hands records back in order across segments and deletes delivered segments', () => {
    const dir = tempDir()
    const s = open(dir)
    s.append(range(0, 200).map(rec))
    s.append([rec(200)])
    expect(segments(dir).length).toBeGreaterThan(5)
    expect(s.pendingRecords).toBe(201)
    expect(drain(s)).toEqual(range(0, 201))
    expect(s.pendingRecords).toBe(0)
    expect(segments(dir)).toEqual([])
    // Appending after a full drain starts a fresh segment and still reads in order.
    s.append([rec(201), rec(202)])
    expect(drain(s)).toEqual([201, 202])
  })

  it('keeps a batch within maxBytes counting perRecordBytes for each record, yet hands out one record always', () => {
    const s = open(tempDir())
    const records = range(0, 60).map(rec)
    s.append(records)
    const size = (batch: Buffer[], per: number): number => batch.reduce((n, r) => n + r.length + per, 0)
    const batch = s.read(300, Number.MAX_SAFE_INTEGER, 20)
    expect(size(batch, 20)).toBeLessThanOrEqual(300)
    // The next record would not have fitted.
    expect(size(batch, 20) + (records[batch.length]?.length ?? 0) + 20).toBeGreaterThan(300)
    s.release()
    expect(s.read(1, Number.MAX_SAFE_INTEGER, 20)).toHaveLength(1)
    s.release()
    expect(s.read(300, 2, 20)).toHaveLength(2)
    s.release()
    expect(drain(s)).toEqual(range(0, 60))
  })

  it('gives a released batch back, and a reserved one is acknowledged as a whole', () => {
    const s = open(tempDir())
    s.append(range(0, 50).map(rec))
    const first = ids(s.read(200))
    s.release()
    expect(ids(s.read(200))).toEqual(first)
    s.ack()
    expect(drain(s)).toEqual(range(first.length, 50))
  })

  it('holds records appended while in flight as the batch out, acknowledged as a whole', () => {
    const s = open(tempDir())
    s.append(range(0, 50).map(rec), 10)
    expect(() => s.read(200)).toThrow(/already out/)
    s.ack()
    expect(drain(s)).toEqual(range(10, 50))
    // Records in flight move only into an empty spool, and a refused append leaves nothing behind.
    s.append([rec(50)])
    expect(() => {
      s.append([rec(51), rec(52)], 1)
    }).toThrow(/empty spool/)
    expect(drain(s)).toEqual([50])
  })

  it('never lets the cap delete records appended in flight; it applies once they are settled', () => {
    const s = open(tempDir(), { maxBytes: 2048, segmentBytes: 512 })
    s.append(range(0, 100).map(rec), 30)
    expect(s.stats.bytes).toBeGreaterThan(2048)
    expect(s.stats.droppedRecords).toBe(0)
    s.ack()
    expect(s.stats.bytes).toBeLessThanOrEqual(2048)
    const left = drain(s, 10_000)
    expect(left).toEqual(range(100 - left.length, 100))
    expect(s.stats.droppedRecords).toBe(70 - left.length)
  })

  it('over the cap deletes the oldest segments and counts their unsent records', () => {
    const dir = tempDir()
    const s = open(dir, { maxBytes: 4096, segmentBytes: 1024 })
    s.append(range(0, 10).map(rec))
    const done = ids(s.read(100))
    s.ack()
    for (let i = 10; i < 400; i++) s.append([rec(i)])
    expect(s.stats.bytes).toBeLessThanOrEqual(4096)
    const left = drain(s, 10_000)
    // What is left is the newest records, contiguous; everything else was counted as dropped.
    expect(left).toEqual(range(400 - left.length, 400))
    expect(s.stats.droppedRecords).toBe(400 - done.length - left.length)
  })

  it('never deletes the segment of a batch in flight; the cap applies again once it is settled', () => {
    const s = open(tempDir(), { maxBytes: 2048, segmentBytes: 512 })
    s.append(range(0, 5).map(rec))
    const inFlight = ids(s.read(10_000))
    for (let i = 5; i < 100; i++) s.append([rec(i)])
    expect(s.stats.droppedRecords).toBe(0)
    s.ack()
    expect(s.stats.bytes).toBeLessThanOrEqual(2048)
    const left = drain(s, 10_000)
    expect(inFlight).toEqual(range(0, 5))
    expect(left).toEqual(range(100 - left.length, 100))
    expect(s.stats.droppedRecords).toBe(95 - left.length)
  })

  it('after a restart replays exactly the unacknowledged records', () => {
    const dir = tempDir()
    const a = open(dir, { fsync: 'always' })
    a.append(range(0, 120).map(rec))
    let acked = 0
    for (let k = 0; k < 3; k++) {
      acked += a.read(250).length
      a.ack()
    }
    a.close()
    const b = open(dir)
    expect(b.stats.recoveredRecords).toBe(120 - acked)
    expect(drain(b)).toEqual(range(acked, 120))
  })

  it('finds records of a process that died without closing (stale lock, no ack file sync)', () => {
    const dir = tempDir()
    const a = open(dir)
    a.append(range(0, 30).map(rec))
    a.read(100)
    a.ack()
    const acked = 30 - a.pendingRecords
    // No close: as after kill -9. The lock names this (live) process, which counts as stale for itself.
    const b = open(dir)
    expect(drain(b)).toEqual(range(acked, 30))
  })

  it('cuts a torn last record and a record that fails its CRC, and keeps appending after them', () => {
    const dir = tempDir()
    const a = open(dir, { segmentBytes: 1 << 20 })
    a.append(range(0, 10).map(rec))
    a.close()
    const [seg] = segments(dir)
    const file = join(dir, seg ?? '')
    const header = Buffer.alloc(8)
    header.writeUInt32LE(100, 0)
    appendFileSync(file, Buffer.concat([header, Buffer.from('only part')]))
    const b = open(dir, { segmentBytes: 1 << 20 })
    expect(b.stats.truncatedBytes).toBe(17)
    b.append([rec(10)])
    expect(drain(b)).toEqual(range(0, 11))

    b.append([rec(11), rec(12), rec(13)])
    b.close()
    // Flip one payload byte of the second-to-last record: it and everything after it are cut.
    const [seg2] = segments(dir)
    const file2 = join(dir, seg2 ?? '')
    const bytes = readFileSync(file2)
    const last = rec(13).length + 8
    const flipAt = bytes.length - last - 3
    bytes[flipAt] = (bytes[flipAt] ?? 0) ^ 0xff
    writeFileSync(file2, bytes)
    const c = open(dir, { segmentBytes: 1 << 20 })
    expect(c.stats.truncatedBytes).toBe(last + rec(12).length + 8)
    expect(drain(c)).toEqual([11])
  })

  it('replays from the oldest segment when the ack file is unreadable', () => {
    const dir = tempDir()
    const a = open(dir)
    a.append(range(0, 40).map(rec))
    a.read(100)
    a.ack()
    const oldestLeft = 40 - a.pendingRecords
    a.close()
    writeFileSync(join(dir, 'ack'), Buffer.alloc(16, 7))
    const b = open(dir)
    const replayed = drain(b)
    // The acknowledged position is lost, so the head segment is read from its start: a few resends.
    expect(replayed.at(-1)).toBe(39)
    expect(replayed[0]).toBeLessThanOrEqual(oldestLeft)
    expect(replayed).toEqual(range(replayed[0] ?? 0, 40))
  })

  it('refuses a folder another live process holds', () => {
    const dir = tempDir()
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    writeFileSync(join(dir, 'lock'), `${process.ppid} ${boot}\n`)
    expect(() => open(dir)).toThrow(/in use by process/)
    // The same pid from an earlier boot is some other process now: the lock is stale.
    writeFileSync(join(dir, 'lock'), `${process.ppid} 00000000-0000-0000-0000-000000000000\n`)
    expect(open(dir).pendingRecords).toBe(0)
  })
})
