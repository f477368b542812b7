/**
 * How many values per second embedded ClickHouse (chdb) alone stores in the series-id layout
 * (schemas/clickhouse/ddl.ts, migration 5) on this machine, and what each costs in CPU, with nothing
 * else of the pipeline running: the ceiling that issue 7's 1,000,000 values/s has to fit under.
 *
 * The layout has two write streams, measured apart and together:
 * - raw: every ~1 s chunk a processor stores is `series` rows (once per series and UTC day), the
 *   `points` (one row per value, no views on it) and the `sample_log` (one row per envelope);
 * - tiers: the tier feeder's batches into the Null table `points_tier_feed`, whose three views write
 *   points_10s/1m/1h. A view aggregates one insert block at a time, so the rows it writes per value
 *   fall as a batch spans more of the fleet's time: measured here at 1 s and 10 s spans.
 *
 * The rows are made by the product's code, as the load test and a processor make them: synthetic
 * hosts (loadtest/src/synthetic-host.ts) advanced one second per tick, each host's samples of a tick
 * encoded with the agent's Avro codec as one Kafka message, decoded again and appended to a RowBatch by
 * stream-processors/src/rows.ts with a fresh SeriesRegistry per variant (a processor that just started,
 * so the first chunks write every series). All batches are built before a variant's clock starts; what
 * the clock covers is what ClickHouseSink.write / writeTiers do: columns (stream-processors/src/columns.ts),
 * the inserter's encoding and the engine's insert. Each variant writes into its own freshly migrated
 * database; the clock runs from the first insert until the last one returns (background merges go on
 * after it), and a variant only counts when every table holds exactly what was handed to it: the
 * points (count, series, ts range, sum), the series rows (count, distinct series and days, every
 * point's series present), the sample log, every tier's value_count and sum, and nothing in the
 * tables the variant does not write.
 *
 * Variants: the sink raw only (`tiers: 'feeder'`, as the processor service runs) through the Arrow
 * inserter (the product's path into chdb), the JSON fallback, and RowBinary (the server path's
 * encoding) read by `INSERT … FROM INFILE` from tmpfs; the sink with the tiers inline at ~1 s (what
 * every chunk cost before the tier feeder); the tier feed alone (writeTiers) at 1 s and 10 s spans;
 * the Arrow sink from two lanes at once (one inserter, two chdb sessions, as a processor's concurrent
 * partitions share it); and the product as it runs, raw 1 s chunks and 10 s tier batches at once.
 *
 * Rows written to the tiers are counted by the engine: the growth of the process's
 * `MergeTreeDataWriterRows` profile event over a variant (rows written into MergeTree parts by inserts,
 * views' targets included; merges are not counted), less the rows handed to points, series and the
 * sample log. chdb has no system.part_log and drops outdated parts at once (old_parts_lifetime 0), so
 * system.parts cannot say what was written before merges folded it.
 *
 * CPU is process.cpuUsage() of this process: chdb runs in it, so it is the JS side and every engine
 * thread. Over the clock it holds whatever merging fell inside it, more for a slow variant than a
 * fast one, so it is also taken until the merges the inserts started have stopped ("with merges").
 *
 * Why RowBinary goes through a file: chdb takes an inline insert body as the tail of the query text
 * and ends it at the first blank line ("\n\n"), which is why its `.chdb.rawInsert` takes text formats
 * only; a binary body whose bytes hold 0x0A 0x0A is cut there (measured before: four of ten
 * 20,000-row RowBinary batches failed with CANNOT_READ_ALL_DATA).
 *
 * `npx tsx bench/chdb-insert-ceiling.ts [--rows N] [--batch N] [--hosts N] [--tier-seconds N]
 * [--repeats N] [--only id,…] [--json]` prints a markdown table (2,000,000 values for the raw
 * variants, 50,000 per insert, 300 hosts, 60 s of the fleet for the tier feed, one run of each).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { ClickHouseClient } from '@clickhouse/client'
import type { Session } from 'chdb'
import { sampleTimestampUs } from '../agent/src/envelope.ts'
import { SyntheticHost } from '../loadtest/src/synthetic-host.ts'
import { createClickHouse } from '#platform/clickhouse.ts'
import { clickHouseString } from '#platform/clickhouse-literal.ts'
import { rowBinary, type ColumnarBatch } from '#platform/columnar.ts'
import {
  ArrowInserter,
  JsonInserter,
  settingsClause,
  type ColumnarInserter,
  type InsertSettings,
} from '#platform/columnar-insert.ts'
import { SAMPLES_TOPIC } from '#schemas/src/kafka-topic.ts'
import { prng } from '#platform/prng.ts'
import { POINTS_TABLE, POINTS_TIERS, SERIES_TABLE } from '#schemas/clickhouse/ddl.ts'
import { migrate } from '#schemas/clickhouse/migrate.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { ClickHouseSink } from '../stream-processors/src/clickhouse-sink.ts'
import {
  appendEnvelopeRows,
  newRowBatch,
  SeriesRegistry,
  type RowBatch,
  type SeriesRef,
} from '../stream-processors/src/rows.ts'
import { hostSnapshot, valuesIn } from '../loadtest/src/host-snapshot.ts'

export interface CeilingOptions {
  /** Values the raw variants store (whole envelopes, so up to one host's tick more). */
  rows: number
  /** Values per raw insert for the sink variants (whole envelopes): ~1 s of 300 hosts at 50,000. */
  batchRows: number
  /** Synthetic hosts, 300 when absent. */
  hosts?: number
  /** Seconds of the fleet the tier-feed and combined variants write, 60 when absent. */
  tierSeconds?: number
  /** Runs of every variant, interleaved (all variants, then all again), 1 when absent. */
  repeats?: number
  /** Only the variants whose id is listed (VARIANT_IDS); all when absent. */
  only?: readonly string[]
  /** Told of each finished run, for a long bench's progress. */
  log?: (line: string) => void
}

/** How the rows reach chdb: the product's Arrow inserter, the JSON fallback, RowBinary from a file. */
export type CeilingInserter = 'arrow' | 'json' | 'row-binary-file'
/** What a variant writes: raw (series, points, sample log), the tier feed, or both. */
export type CeilingWrites = 'raw' | 'raw + tiers inline' | 'tiers' | 'raw ∥ tiers'

export interface CeilingRow {
  id: string
  variant: string
  run: number
  inserter: CeilingInserter
  writes: CeilingWrites
  /** Seconds of the fleet one insert holds (raw inserts when the variant writes raw). */
  batchSpanS: number
  /** Values in the median insert (raw inserts when the variant writes raw). */
  batchValues: number
  /** Lanes inserting at the same time, each one insert after another. */
  lanes: number
  /** Values stored: each is one point and, where the tiers are written, fed to them once. */
  values: number
  envelopes: number
  hosts: number
  series: number
  engine: string
  ok: boolean
  /** Why the variant failed: an insert error or tables that do not hold what was inserted. */
  failure?: string | undefined
  wallS?: number | undefined
  valuesPerS?: number | undefined
  /** Wall µs per value: 1e6 / valuesPerS. */
  wallUsPerValue?: number | undefined
  /** CPU µs of this process (JS and every chdb thread) per value, over the clock. */
  cpuUsPerValue?: number | undefined
  /**
   * The same until the merges the inserts started have stopped (settleS after the clock): what a value
   * costs with its share of merging, whatever part of that fell inside the clock.
   */
  cpuUsPerValueSettled?: number | undefined
  /** Seconds after the last insert until no merge ran in the variant's database for 1 s (at most 60). */
  settleS?: number | undefined
  /** Seconds the inserts into each table took, summed over lanes (`series`, `points`, …). */
  tableSeconds?: Record<string, number> | undefined
  /** Median wall time of the first lane's inserts (the raw chunks where a variant has both). */
  medianInsertMs?: number | undefined
  /** Rows the inserts wrote into MergeTree parts (MergeTreeDataWriterRows), per value. */
  rowsWrittenPerValue?: number | undefined
  /** Of those, rows written into points_10s, points_1m and points_1h by the views, per value. */
  tierRowsPerValue?: number | undefined
  /** Parts the inserts wrote (MergeTreeDataWriterBlocks), all tables. */
  partsWritten?: number | undefined
  /** CPU time of this process over the wall time: cores kept busy. */
  processCores?: number | undefined
  /** Busy cores of the whole machine (/proc/stat) minus this process's: other load during the run. */
  otherCores?: number | undefined
  /** 1-minute load average when the clock started and when it stopped. */
  loadStart?: number | undefined
  loadEnd?: number | undefined
  /** Active parts of the variant's database right after the last insert: merges behind if many. */
  activePartsAtEnd?: number | undefined
}

const DEFAULT_HOSTS = 300
const DEFAULT_TIER_SECONDS = 60
const TENANT = 'bench'
const INTERVAL_MS = 1000
/** Hosts are spread over the interval in ten slots, as loadtest/src/simulator.ts spreads them. */
const SLOTS = 10
const PARTITIONS = 6
/** CLICKHOUSE_DEDUP_WINDOW's default in stream-processors/src/config.ts. */
const DEDUP_WINDOW = 1000
/** PROCESSOR_TIER_BATCH_MS's order: the tier feeder's batch against a raw chunk's second. */
const TIER_SPANS_S = [1, 10] as const
/** /proc/stat counts in USER_HZ, 100 on every Linux build this runs on. */
const USER_HZ = 100
const DAY_US = 86_400_000_000
const SETTLE_POLL_MS = 200
const SETTLE_QUIET_POLLS = 5
const SETTLE_MAX_MS = 60_000

// ---------------------------------------------------------------------------------------------------
// The fleet: one Avro message per host and tick, as agents send them and a processor reads them.

interface Message {
  partition: number
  offset: number
  body: Buffer
}

interface Fleet {
  /** Messages of each tick (a second of the fleet), hosts in order. */
  ticks: Message[][]
  hosts: number
  valuesPerHost: number
}

/** At least `minTicks` seconds of the fleet, and enough of them for `minValues` values. */
function generateFleet(minTicks: number, minValues: number, hostCount: number): Fleet {
  const template = hostSnapshot()
  const valuesPerHost = template.reduce((n, s) => n + valuesIn(s), 0)
  const ticks = Math.max(minTicks, Math.ceil(minValues / (valuesPerHost * hostCount)))
  const hosts = Array.from({ length: hostCount }, (_, i) => new SyntheticHost(i, template, 'ceiling'))
  const codec = envelopeCodec()
  const random = prng(7)
  // Ending about now keeps every row inside a processor's time bounds. Starting 5 s into a 10 s
  // bucket: a tier feeder's batches are cut by the wall clock, not on bucket edges, so a 10 s batch
  // here spans two 10 s buckets as most of the feeder's do.
  const startS = Math.floor((Date.now() / 1000 - ticks - 60) / 10) * 10 + 5
  const offsets = new Array<number>(PARTITIONS).fill(0)
  const out: Message[][] = []
  for (let tick = 0; tick < ticks; tick++) {
    out.push(
      hosts.map((h, i) => {
        h.advance(INTERVAL_MS / 1000)
        const scheduledMs = (startS + tick) * 1000 + (i % SLOTS) * (INTERVAL_MS / SLOTS)
        // Most reads finish within the agent's tolerance and carry the tick's stamp; some are late.
        const lateMs = random() < 0.9 ? random() * 2 : 2 + random() * 20
        const tsUs = sampleTimestampUs(scheduledMs + lateMs, scheduledMs, INTERVAL_MS)
        const body = Buffer.concat(
          h.samples.map((sample) =>
            codec.encode({
              tenant: TENANT,
              host_id: h.id.hostId,
              hostname: h.id.hostname,
              agent_id: h.id.agentId,
              seq: h.seq++,
              ts_us: tsUs,
              interval_ms: INTERVAL_MS,
              sample,
            }),
          ),
        )
        const partition = i % PARTITIONS
        const offset = offsets[partition] ?? 0
        offsets[partition] = offset + 1
        return { partition, offset, body }
      }),
    )
  }
  return { ticks: out, hosts: hostCount, valuesPerHost }
}

/**
 * RowBatches as a processor builds them, from the fleet's messages in order: a batch closes when it
 * holds `perBatch.values` values or `perBatch.ticks` seconds of the fleet, and building stops after
 * `maxValues` values or `maxTicks` ticks (at a whole message either way).
 */
function buildBatches(
  fleet: Fleet,
  registry: SeriesRegistry,
  perBatch: { values: number } | { ticks: number },
  limit: { maxValues: number } | { maxTicks: number },
): RowBatch[] {
  const codec = envelopeCodec()
  const out: RowBatch[] = []
  let batch = newRowBatch(registry)
  let total = 0
  const ticks = 'maxTicks' in limit ? Math.min(limit.maxTicks, fleet.ticks.length) : fleet.ticks.length
  ticks: for (let t = 0; t < ticks; t++) {
    for (const m of fleet.ticks[t] ?? []) {
      const before = batch.values.length
      for (const env of codec.decodeAll(m.body))
        appendEnvelopeRows(batch, env, TENANT, {
          partition: m.partition,
          offset: String(m.offset),
          topic: SAMPLES_TOPIC,
        })
      total += batch.values.length - before
      if ('values' in perBatch && batch.values.length >= perBatch.values) {
        out.push(batch)
        batch = newRowBatch(registry)
      }
      if ('maxValues' in limit && total >= limit.maxValues) break ticks
    }
    if ('ticks' in perBatch && (t + 1) % perBatch.ticks === 0) {
      out.push(batch)
      batch = newRowBatch(registry)
    }
  }
  if (batch.values.length > 0) out.push(batch)
  return out
}

/** What the stored rows must add up to. */
interface Expect {
  values: number
  envelopes: number
  series: number
  /** Distinct (series, UTC day) pairs: the series rows the sink must leave, however many it wrote. */
  seriesDays: number
  valueSum: number
  valueAbsSum: number
  minTsUs: number
  maxTsUs: number
}

function expectOf(batches: readonly RowBatch[]): Expect {
  const series = new Set<SeriesRef>()
  const seriesDays = new Set<string>()
  let values = 0
  let envelopes = 0
  let valueSum = 0
  let valueAbsSum = 0
  let minTsUs = Number.POSITIVE_INFINITY
  let maxTsUs = Number.NEGATIVE_INFINITY
  for (const b of batches) {
    values += b.values.length
    envelopes += b.log.length
    b.values.forEach((v, i) => {
      const ref = b.series[i] as SeriesRef
      const ts = b.tsUs[i] ?? 0
      series.add(ref)
      seriesDays.add(`${ref.key}\u0000${String(Math.floor(ts / DAY_US))}`)
      valueSum += v
      valueAbsSum += Math.abs(v)
      if (ts < minTsUs) minTsUs = ts
      if (ts > maxTsUs) maxTsUs = ts
    })
  }
  return {
    values,
    envelopes,
    series: series.size,
    seriesDays: seriesDays.size,
    valueSum,
    valueAbsSum,
    minTsUs,
    maxTsUs,
  }
}

// ---------------------------------------------------------------------------------------------------
// Inserters.

/**
 * RowBinary, as the product's RowBinaryInserter sends it to a server (platform/columnar.ts), written
 * to a file in tmpfs and read by `INSERT … FROM INFILE` on a chdb session: the engine's cost of a
 * binary row format, which chdb cannot take inline (see the top of this file). Bench-only.
 */
class RowBinaryFileInserter implements ColumnarInserter {
  readonly kind = 'row-binary'
  private seq = 0

  constructor(
    private readonly session: Session,
    private readonly dir: string,
  ) {}

  async insert(batch: ColumnarBatch, settings: InsertSettings): Promise<void> {
    if (batch.rows === 0) return
    const file = join(this.dir, `${String(++this.seq)}.bin`)
    writeFileSync(file, rowBinary(batch))
    try {
      await this.session.queryAsync(
        `INSERT INTO ${batch.table} (${batch.columns.map((c) => c.name).join(', ')}) ` +
          `FROM INFILE ${clickHouseString(file)}${settingsClause(settings)} FORMAT RowBinary`,
      )
    } finally {
      rmSync(file, { force: true })
    }
  }

  close(): Promise<void> {
    this.session.close()
    rmSync(this.dir, { recursive: true, force: true })
    return Promise.resolve()
  }
}

/** Rows handed to the engine and milliseconds its inserts took, per `database.table`. */
type Tally = Map<string, { rows: number; ms: number }>

/**
 * The inserter with the rows it was handed counted per table, to check every table against, and the
 * time each table's inserts took from the columns handed over until the engine returned.
 */
function counted(inner: ColumnarInserter, tally: Tally): ColumnarInserter {
  return {
    kind: inner.kind,
    insert: async (batch, settings) => {
      const t = tally.get(batch.table) ?? { rows: 0, ms: 0 }
      tally.set(batch.table, t)
      t.rows += batch.rows
      const start = performance.now()
      try {
        await inner.insert(batch, settings)
      } finally {
        t.ms += performance.now() - start
      }
    },
    close: () => inner.close(),
  }
}

// ---------------------------------------------------------------------------------------------------
// Variants.

interface Variant {
  id: string
  name: string
  inserter: CeilingInserter
  writes: CeilingWrites
  /** Raw lanes (sink.write) at once; the combined variant adds one tier lane. */
  lanes: number
  /** Seconds of the fleet per tier-feed insert, for the variants that feed the tiers apart. */
  tierSpanS?: number
}

const VARIANTS: readonly Variant[] = [
  {
    id: 'arrow',
    name: 'product: sink → Arrow, raw',
    inserter: 'arrow',
    writes: 'raw',
    lanes: 1,
  },
  { id: 'json', name: 'sink → JSON fallback, raw', inserter: 'json', writes: 'raw', lanes: 1 },
  {
    id: 'rowbinary',
    name: 'sink → RowBinary from tmpfs file, raw',
    inserter: 'row-binary-file',
    writes: 'raw',
    lanes: 1,
  },
  {
    id: 'inline',
    name: 'sink → Arrow, tiers inline (before the feeder)',
    inserter: 'arrow',
    writes: 'raw + tiers inline',
    lanes: 1,
  },
  ...TIER_SPANS_S.map((s): Variant => ({
    id: `feed-${String(s)}s`,
    name: `tier feed (writeTiers) → Arrow, ${String(s)} s batches`,
    inserter: 'arrow',
    writes: 'tiers',
    lanes: 1,
    tierSpanS: s,
  })),
  {
    id: 'arrow-2',
    name: 'product: sink → Arrow, raw, two lanes',
    inserter: 'arrow',
    writes: 'raw',
    lanes: 2,
  },
  {
    id: 'product',
    name: 'product as it runs: raw 1 s chunks ∥ tier feed 10 s',
    inserter: 'arrow',
    writes: 'raw ∥ tiers',
    lanes: 1,
    tierSpanS: 10,
  },
]

export const VARIANT_IDS: readonly string[] = VARIANTS.map((v) => v.id)

interface Bench {
  dir: string
  /** Where the RowBinary files go: tmpfs when there is one, so the engine reads memory. */
  fileDir: string
  admin: ClickHouseClient
  fleet: Fleet
  engine: string
  SessionCtor: typeof Session
  rows: number
  batchRows: number
  tierSeconds: number
  databases: number
}

function embeddedConfig(dir: string, database: string): Parameters<typeof createClickHouse>[0] {
  return { url: undefined, user: 'default', password: '', database, embeddedPath: dir }
}

/** Migrated as test/support/embedded-clickhouse.ts does it, in the folder every connection shares. */
async function freshDatabase(b: Bench): Promise<string> {
  const database = `ceiling_${String(b.databases++)}`
  await migrate(b.admin, {
    database,
    rawTtlDays: 3650,
    tier10sTtlDays: 3650,
    tier1mTtlDays: 3650,
    tier1hTtlDays: 3650,
    dedupWindow: DEDUP_WINDOW,
  })
  return database
}

async function openInserter(
  b: Bench,
  kind: CeilingInserter,
  database: string,
): Promise<{ inserter: ColumnarInserter; client?: ClickHouseClient }> {
  switch (kind) {
    case 'arrow':
      // What columnarInserter() opens for an embedded store: Arrow on two sessions of its own.
      return { inserter: await ArrowInserter.open(b.dir) }
    case 'json': {
      // The fallback inserts through the client, which for chdb is the product's session pool.
      const client = await createClickHouse(embeddedConfig(b.dir, database))
      return { inserter: new JsonInserter(client), client }
    }
    case 'row-binary-file':
      return {
        inserter: new RowBinaryFileInserter(
          new b.SessionCtor(b.dir),
          mkdtempSync(join(b.fileDir, 'bodies-')),
        ),
      }
  }
}

/** One insert of a lane. */
type Step = () => Promise<void>

/** The variant's inserts per lane and what the tables must hold afterwards, built before the clock. */
interface Plan {
  lanes: Step[][]
  raw?: Expect | undefined
  tiers?: Expect | undefined
  batchSpanS: number
  batchValues: number
}

function plan(b: Bench, v: Variant, database: string, sink: ClickHouseSink, limitBatches?: number): Plan {
  // A processor that just started: no series known, so its first chunks write every series row.
  const registry = new SeriesRegistry()
  const cut = (xs: RowBatch[]): RowBatch[] => (limitBatches === undefined ? xs : xs.slice(0, limitBatches))
  const token = (lane: string, i: number): string => `ceiling:${database}:${lane}:${String(i)}`
  const perTick = b.fleet.hosts * b.fleet.valuesPerHost
  const median = (batches: RowBatch[]): number => medianOf(batches.map((x) => x.values.length))
  if (v.writes === 'tiers') {
    const span = v.tierSpanS ?? 1
    const batches = cut(buildBatches(b.fleet, registry, { ticks: span }, { maxTicks: b.tierSeconds }))
    return {
      lanes: [batches.map((x, i) => () => sink.writeTiers(x, token('t', i)))],
      tiers: expectOf(batches),
      batchSpanS: span,
      batchValues: median(batches),
    }
  }
  if (v.writes === 'raw ∥ tiers') {
    // The same seconds of the fleet through both streams, raw in 1 s chunks as the processor stores
    // them; the tier batches hold the same envelopes (the feeder rolls up what raw stored).
    const raw = cut(buildBatches(b.fleet, registry, { ticks: 1 }, { maxTicks: b.tierSeconds }))
    const ticks = limitBatches === undefined ? b.tierSeconds : limitBatches
    const span = v.tierSpanS ?? 10
    const fed = buildBatches(b.fleet, registry, { ticks: span }, { maxTicks: ticks })
    return {
      lanes: [
        raw.map((x, i) => () => sink.write(x, token('r', i))),
        fed.map((x, i) => () => sink.writeTiers(x, token('t', i))),
      ],
      raw: expectOf(raw),
      tiers: expectOf(fed),
      batchSpanS: 1,
      batchValues: median(raw),
    }
  }
  const batches = cut(buildBatches(b.fleet, registry, { values: b.batchRows }, { maxValues: b.rows }))
  const lanes: Step[][] = Array.from({ length: v.lanes }, () => [])
  // Each lane takes every n-th chunk in order, one insert at a time, as a processor's partitions do.
  batches.forEach((x, i) => lanes[i % v.lanes]?.push(() => sink.write(x, token('r', i))))
  const all = expectOf(batches)
  return {
    lanes,
    raw: all,
    tiers: v.writes === 'raw + tiers inline' ? all : undefined,
    batchSpanS: median(batches) / perTick,
    batchValues: median(batches),
  }
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

function machineBusySeconds(): number | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
    const f = cpu.trim().split(/\s+/).slice(1, 9).map(Number)
    const total = f.reduce((a, x) => a + x, 0)
    const idle = (f[3] ?? 0) + (f[4] ?? 0)
    return (total - idle) / USER_HZ
  } catch {
    return undefined
  }
}

async function queryRows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' })
  return rs.json<T>()
}

/** The engine's insert counters of this process: rows and parts written into MergeTree tables. */
async function writerEvents(b: Bench): Promise<{ rows: number; parts: number }> {
  const rows = await queryRows<{ event: string; value: string }>(
    b.admin,
    `SELECT event, toString(value) AS value FROM system.events
     WHERE event IN ('MergeTreeDataWriterRows', 'MergeTreeDataWriterBlocks')`,
  )
  const of = (name: string): number => Number(rows.find((r) => r.event === name)?.value ?? 0)
  return { rows: of('MergeTreeDataWriterRows'), parts: of('MergeTreeDataWriterBlocks') }
}

/**
 * Waits until no merge has run in the database for SETTLE_QUIET_POLLS polls in a row; the seconds
 * waited. Merges are chosen by a background scheduler, so one may start after this: it measures the
 * bulk of the merging an insert run causes, not all it ever will.
 */
async function mergesSettle(b: Bench, database: string): Promise<number> {
  const start = performance.now()
  let quiet = 0
  while (quiet < SETTLE_QUIET_POLLS && performance.now() - start < SETTLE_MAX_MS) {
    const [r] = await queryRows<{ n: string }>(
      b.admin,
      `SELECT count() AS n FROM system.merges WHERE database = '${database}'`,
    )
    quiet = Number(r?.n ?? 0) === 0 ? quiet + 1 : 0
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS))
  }
  return (performance.now() - start) / 1000
}

/** Summation order differs between JS and ClickHouse: allow rounding, not a lost or altered row. */
function sumsDiffer(stored: number, e: Expect): boolean {
  return Math.abs(stored - e.valueSum) > 1e-9 * Math.max(1, e.valueAbsSum)
}

/** Why the stored rows differ from those handed to the engine, or undefined when they do not. */
async function verify(b: Bench, database: string, p: Plan, handed: Tally): Promise<string | undefined> {
  const problems: string[] = []
  const one = async <T>(query: string): Promise<T> => {
    const [row] = await queryRows<T>(b.admin, query)
    if (!row) throw new Error(`no answer to ${query}`)
    return row
  }
  const count = async (table: string): Promise<number> =>
    Number((await one<{ n: string }>(`SELECT count() AS n FROM ${database}.${table}`)).n)
  const of = (table: string): number => handed.get(`${database}.${table}`)?.rows ?? 0
  if (p.raw) {
    const e = p.raw
    const pts = await one<{ n: string; series: string; min_us: string; max_us: string; total: number }>(
      `SELECT count() AS n, uniqExact(series_id) AS series,
              toString(toUnixTimestamp64Micro(min(ts))) AS min_us,
              toString(toUnixTimestamp64Micro(max(ts))) AS max_us, sum(value) AS total
       FROM ${database}.${POINTS_TABLE}`,
    )
    if (Number(pts.n) !== e.values || of(POINTS_TABLE) !== e.values)
      problems.push(`points: ${pts.n} stored, ${String(of(POINTS_TABLE))} handed, ${String(e.values)} built`)
    if (Number(pts.series) !== e.series)
      problems.push(`points: ${pts.series} series, not ${String(e.series)}`)
    if (Number(pts.min_us) !== e.minTsUs || Number(pts.max_us) !== e.maxTsUs)
      problems.push(`points: ts spans ${pts.min_us}..${pts.max_us}`)
    if (sumsDiffer(pts.total, e)) problems.push(`points: sum ${String(pts.total)} ≠ ${String(e.valueSum)}`)
    const ser = await one<{ n: string; pairs: string; orphans: string }>(
      `SELECT count() AS n, uniqExact(series_id, day) AS pairs,
              (SELECT count() FROM ${database}.${POINTS_TABLE}
               WHERE series_id NOT IN (SELECT series_id FROM ${database}.${SERIES_TABLE})) AS orphans
       FROM ${database}.${SERIES_TABLE}`,
    )
    if (Number(ser.n) !== of(SERIES_TABLE))
      problems.push(`series: ${ser.n} rows, ${String(of(SERIES_TABLE))} handed`)
    if (Number(ser.pairs) !== e.seriesDays)
      problems.push(`series: ${ser.pairs} (series, day) pairs, not ${String(e.seriesDays)}`)
    if (Number(ser.orphans) !== 0) problems.push(`${ser.orphans} points without a series row`)
    const log = await one<{ n: string; points: string }>(
      `SELECT count() AS n, sum(points) AS points FROM ${database}.sample_log`,
    )
    if (Number(log.n) !== e.envelopes || of('sample_log') !== e.envelopes || Number(log.points) !== e.values)
      problems.push(
        `sample_log: ${log.n} rows of ${log.points} points, ${String(e.envelopes)} envelopes built`,
      )
  } else {
    for (const table of [POINTS_TABLE, SERIES_TABLE, 'sample_log']) {
      const n = await count(table)
      if (n !== 0) problems.push(`${table} has ${String(n)} rows, none written`)
    }
  }
  for (const { table } of POINTS_TIERS) {
    if (p.tiers) {
      const t = await one<{ n: string; total: number }>(
        `SELECT sum(value_count) AS n, sum(value_sum) AS total FROM ${database}.${table}`,
      )
      if (Number(t.n) !== p.tiers.values)
        problems.push(`${table} counts ${t.n} values, ${String(p.tiers.values)} fed`)
      if (sumsDiffer(t.total, p.tiers))
        problems.push(`${table}: sum ${String(t.total)} ≠ ${String(p.tiers.valueSum)}`)
    } else {
      const n = await count(table)
      if (n !== 0) problems.push(`${table} has ${String(n)} rows, none fed`)
    }
  }
  return problems.length > 0 ? problems.join('; ') : undefined
}

async function runVariant(b: Bench, v: Variant, run: number, limitBatches?: number): Promise<CeilingRow> {
  const database = await freshDatabase(b)
  const handed: Tally = new Map()
  const { inserter, client } = await openInserter(b, v.inserter, database)
  try {
    const sink = new ClickHouseSink(b.admin, database, {
      tiers: v.writes === 'raw + tiers inline' ? 'inline' : 'feeder',
      inserter: counted(inserter, handed),
    })
    const p = plan(b, v, database, sink, limitBatches)
    const main = p.raw ?? p.tiers
    const base: CeilingRow = {
      id: v.id,
      variant: v.name,
      run,
      inserter: v.inserter,
      writes: v.writes,
      batchSpanS: p.batchSpanS,
      batchValues: p.batchValues,
      lanes: p.lanes.length,
      values: main?.values ?? 0,
      envelopes: main?.envelopes ?? 0,
      hosts: b.fleet.hosts,
      series: main?.series ?? 0,
      engine: b.engine,
      ok: false,
    }
    const times: number[] = []
    // The decoded envelopes the plan was built from are garbage now; collected here (when node runs
    // with --expose-gc), not inside the clock, where only the product's own garbage belongs.
    ;(globalThis as { gc?: () => void }).gc?.()
    const events0 = await writerEvents(b)
    const loadStart = loadavg()[0]
    const busy0 = machineBusySeconds()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    try {
      await Promise.all(
        p.lanes.map(async (steps, lane) => {
          for (const step of steps) {
            const start = performance.now()
            await step()
            if (lane === 0) times.push(performance.now() - start)
          }
        }),
      )
    } catch (err) {
      return { ...base, failure: `insert failed: ${err instanceof Error ? err.message : String(err)}` }
    }
    const wallS = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const busy1 = machineBusySeconds()
    const loadEnd = loadavg()[0]
    const events1 = await writerEvents(b)
    const cpuS = (cpu.user + cpu.system) / 1e6
    const [parts] = await queryRows<{ n: string }>(
      b.admin,
      `SELECT count() AS n FROM system.parts WHERE database = '${database}' AND active`,
    )
    const settleS = await mergesSettle(b, database)
    const settled = process.cpuUsage(cpu0)
    const failure = await verify(b, database, p, handed)
    if (failure !== undefined) return { ...base, failure }
    const values = base.values
    const written = events1.rows - events0.rows
    const direct = [POINTS_TABLE, SERIES_TABLE, 'sample_log'].reduce(
      (n, t) => n + (handed.get(`${database}.${t}`)?.rows ?? 0),
      0,
    )
    return {
      ...base,
      ok: true,
      wallS,
      valuesPerS: values / wallS,
      wallUsPerValue: (wallS * 1e6) / values,
      cpuUsPerValue: (cpuS * 1e6) / values,
      cpuUsPerValueSettled: (settled.user + settled.system) / values,
      settleS,
      tableSeconds: Object.fromEntries(
        [...handed].map(([table, t]) => [table.slice(database.length + 1), t.ms / 1000]),
      ),
      medianInsertMs: medianOf(times),
      rowsWrittenPerValue: written / values,
      tierRowsPerValue: p.tiers ? (written - direct) / p.tiers.values : undefined,
      partsWritten: events1.parts - events0.parts,
      processCores: cpuS / wallS,
      otherCores:
        busy0 === undefined || busy1 === undefined
          ? undefined
          : Math.max(0, (busy1 - busy0) / wallS - cpuS / wallS),
      loadStart,
      loadEnd,
      activePartsAtEnd: Number(parts?.n ?? Number.NaN),
    }
  } finally {
    await inserter.close()
    await client?.close()
    await b.admin.command({ query: `DROP DATABASE IF EXISTS ${database} SYNC` })
  }
}

export async function benchChdbInsertCeiling(opts: CeilingOptions): Promise<CeilingRow[]> {
  const hosts = opts.hosts ?? DEFAULT_HOSTS
  const tierSeconds = opts.tierSeconds ?? DEFAULT_TIER_SECONDS
  const variants = VARIANTS.filter((v) => opts.only === undefined || opts.only.includes(v.id))
  const fleet = generateFleet(tierSeconds, opts.rows, hosts)
  // Loaded here, not at import, so that importing this file (bench/run.ts) does not load the engine.
  const { Session: SessionCtor } = await import('chdb')
  const dir = mkdtempSync(join(tmpdir(), 'procstream-ceiling-'))
  const fileDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'procstream-ceiling-'))
  // One folder for the whole run (chdb binds one per process); every variant gets its own database.
  const admin = await createClickHouse(embeddedConfig(dir, 'default'))
  try {
    const [version] = await queryRows<{ v: string }>(admin, 'SELECT version() AS v')
    const b: Bench = {
      dir,
      fileDir,
      admin,
      fleet,
      engine: version?.v ?? 'unknown',
      SessionCtor,
      rows: opts.rows,
      batchRows: opts.batchRows,
      tierSeconds,
      databases: 0,
    }
    // A few inserts down every path first, so the first timed variant does not pay for cold code.
    for (const v of variants) {
      const warm = await runVariant(b, v, 0, 2)
      if (!warm.ok) opts.log?.(`warm-up of ${v.id} failed: ${warm.failure ?? ''}`)
    }
    const out: CeilingRow[] = []
    for (let run = 1; run <= (opts.repeats ?? 1); run++)
      for (const v of variants) {
        const row = await runVariant(b, v, run)
        out.push(row)
        opts.log?.(
          row.ok
            ? `${v.id} run ${String(run)}: ${fmt(row.valuesPerS)} values/s, ${fmt(row.cpuUsPerValue, 2)} CPU µs/value (${fmt(row.cpuUsPerValueSettled, 2)} with merges), load ${fmt(row.loadStart, 2)}→${fmt(row.loadEnd, 2)}`
            : `${v.id} run ${String(run)} failed: ${row.failure ?? ''}`,
        )
      }
    return out
  } finally {
    await admin.close()
    rmSync(dir, { recursive: true, force: true })
    rmSync(fileDir, { recursive: true, force: true })
  }
}

function fmt(x: number | undefined, digits = 0): string {
  return x === undefined || Number.isNaN(x)
    ? '–'
    : x.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** One line per variant: medians over its runs, the runs' range beside values/s and CPU. */
export function ceilingMarkdown(rows: CeilingRow[]): string {
  const first = rows[0]
  if (!first) return 'no variants ran'
  const runs = Math.max(...rows.map((r) => r.run))
  const lines = [
    `chdb ${first.engine} alone on ${String(cpus().length)} × ${cpus()[0]?.model ?? 'cpu'}: ${String(first.hosts)} synthetic hosts at 1 s, each variant in a freshly migrated database, ${String(runs)} run(s) each (medians, range in brackets); wall from the first insert until the last returns; CPU is this process's (chdb runs in it), over the wall time and until merges stopped after it; "fleet s" is the seconds of the fleet one insert holds; tier rows = rows the views wrote into points_10s/1m/1h (MergeTreeDataWriterRows) per value fed`,
    '| variant | values | fleet s per insert | values per insert | lanes | values/s | wall µs/value | CPU µs/value | CPU µs/value with merges (settle s) | cores (this process) | insert wall µs/value by table | median insert ms | rows written per value | tier rows per value | parts written | cores (others) | load 1 min | ok runs |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const id of new Set(rows.map((r) => r.id))) {
    const all = rows.filter((r) => r.id === id)
    const ok = all.filter((r) => r.ok)
    const head = all[0] as CeilingRow
    const xs = (f: (r: CeilingRow) => number | undefined): number[] =>
      ok.map(f).filter((x): x is number => x !== undefined && !Number.isNaN(x))
    const med = (f: (r: CeilingRow) => number | undefined, digits: number): string => {
      const v = xs(f)
      return v.length === 0 ? '–' : fmt(medianOf(v), digits)
    }
    const ranged = (f: (r: CeilingRow) => number | undefined, digits: number): string => {
      const v = xs(f)
      const range = v.length < 2 ? '' : ` (${fmt(Math.min(...v), digits)}–${fmt(Math.max(...v), digits)})`
      return `${med(f, digits)}${range}`
    }
    const tables = [...new Set(ok.flatMap((r) => Object.keys(r.tableSeconds ?? {})))]
    const byTable = tables
      .map((t) => `${t} ${med((r) => ((r.tableSeconds?.[t] ?? 0) * 1e6) / r.values, 2)}`)
      .join(' · ')
    const loads = ok.flatMap((r) => [r.loadStart, r.loadEnd]).filter((x): x is number => x !== undefined)
    const failures = all.filter((r) => !r.ok).map((r) => r.failure ?? 'unknown')
    const cells = [
      head.variant,
      fmt(head.values),
      fmt(head.batchSpanS, 2),
      fmt(head.batchValues),
      String(head.lanes),
      ranged((r) => r.valuesPerS, 0),
      med((r) => r.wallUsPerValue, 2),
      ranged((r) => r.cpuUsPerValue, 2),
      `${ranged((r) => r.cpuUsPerValueSettled, 2)} (${med((r) => r.settleS, 1)})`,
      med((r) => r.processCores, 2),
      byTable || '–',
      med((r) => r.medianInsertMs, 1),
      med((r) => r.rowsWrittenPerValue, 3),
      med((r) => r.tierRowsPerValue, 3),
      med((r) => r.partsWritten, 0),
      med((r) => r.otherCores, 2),
      loads.length === 0 ? '–' : `${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)}`,
      `${String(ok.length)}/${String(all.length)}${
        failures.length === 0
          ? ''
          : `: ${failures.join('; ').replace(/\s+/g, ' ').replaceAll('|', '\\|').slice(0, 300)}`
      }`,
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      batch: { type: 'string' },
      hosts: { type: 'string' },
      'tier-seconds': { type: 'string' },
      repeats: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'boolean' },
    },
  })
  const rows = Number(values.rows ?? 2_000_000)
  const batchRows = Number(values.batch ?? 50_000)
  const hosts = Number(values.hosts ?? DEFAULT_HOSTS)
  const tierSeconds = Number(values['tier-seconds'] ?? DEFAULT_TIER_SECONDS)
  const repeats = Number(values.repeats ?? 1)
  const only = values.only?.split(',').filter((s) => s !== '')
  const unknown = (only ?? []).filter((id) => !VARIANT_IDS.includes(id))
  const whole = (x: number, min: number): boolean => Number.isInteger(x) && x >= min
  if (
    !whole(rows, 10_000) ||
    !whole(batchRows, 100) ||
    batchRows > rows ||
    !whole(hosts, 1) ||
    !whole(tierSeconds, 10) ||
    !whole(repeats, 1) ||
    unknown.length > 0
  ) {
    process.stderr.write(
      `--rows must be a whole number of at least 10,000, --batch one from 100 to --rows, --hosts one from 1, --tier-seconds one from 10, --repeats one from 1, --only of ${VARIANT_IDS.join(', ')}; got ${values.rows ?? ''}, ${values.batch ?? ''}, ${values.hosts ?? ''}, ${values['tier-seconds'] ?? ''}, ${values.repeats ?? ''}, ${values.only ?? ''}\n`,
    )
    process.exit(2)
  }
  const result = await benchChdbInsertCeiling({
    rows,
    batchRows,
    hosts,
    tierSeconds,
    repeats,
    only,
    log: (line) => process.stderr.write(`${line}\n`),
  })
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${ceilingMarkdown(result)}\n`)
}
