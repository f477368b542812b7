/**
 * The series-id layout measured in embedded ClickHouse (numbers in schemas/clickhouse/README.md):
 *
 * - `storage`: bytes on disk per raw value of `points` (and of `series` and the tiers) after every
 *   table is merged (OPTIMIZE FINAL), for storage-codecs.ts's node_exporter-like host, written
 *   through the processor's own sink (series, points and the tier feed).
 * - `migration`: how long migration 6 takes to copy a store of the layout before it: `--rows` raw
 *   values written the old way (SQL-generated hosts and series, the old views filling the old tiers),
 *   then `migrate()` timed, per partition.
 *
 * `npx tsx bench/series-layout.ts storage [--hours 6]` or `… migration [--rows 100000000]`; markdown
 * out, `--json` for the numbers.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { ClickHouseClient } from '@clickhouse/client'
import { createClickHouse, readClickHouseConfig } from '#platform/clickhouse.ts'
import { ConfigReader } from '#platform/config.ts'
import {
  POINTS_TIERS,
  RAW_INSERT_SETTINGS,
  RAW_TS_CODEC,
  RAW_VALUE_CODEC,
  type DdlOptions,
} from '#schemas/clickhouse/ddl.ts'
import { migrate, type PartitionEvent } from '#schemas/clickhouse/migrate.ts'
import { ClickHouseSink } from '../stream-processors/src/clickhouse-sink.ts'
import { addPoint, dateTime64ToMicros, newRowBatch, SeriesRegistry } from '../stream-processors/src/rows.ts'
import { generateSlice, type Slice } from './storage-codecs.ts'

interface TableSize {
  table: string
  rows: number
  compressed: number
  disk: number
  parts: number
}

async function query<T>(client: ClickHouseClient, sql: string): Promise<T[]> {
  const rs = await client.query({ query: sql, format: 'JSONEachRow' })
  return rs.json<T>()
}

async function tableSize(client: ClickHouseClient, db: string, table: string): Promise<TableSize> {
  const [r] = await query<{ rows: string; c: string; disk: string; parts: string }>(
    client,
    `SELECT sum(rows) AS rows, sum(data_compressed_bytes) AS c, sum(bytes_on_disk) AS disk, count() AS parts
     FROM system.parts WHERE database = '${db}' AND table = '${table}' AND active`,
  )
  return {
    table,
    rows: Number(r?.rows ?? 0),
    compressed: Number(r?.c ?? 0),
    disk: Number(r?.disk ?? 0),
    parts: Number(r?.parts ?? 0),
  }
}

function options(database: string): DdlOptions {
  return {
    database,
    rawTtlDays: 7,
    tier10sTtlDays: 30,
    tier1mTtlDays: 365,
    tier1hTtlDays: 1825,
    dedupWindow: 1000,
  }
}

export interface StorageResult {
  hours: number
  values: number
  /** Per table: bytes on disk and compressed column bytes per raw value, after OPTIMIZE FINAL. */
  tables: (TableSize & { diskPerValue: number; compressedPerValue: number })[]
  /** points only: compressed bytes per raw value by column. */
  pointsColumns: Record<string, number>
  /** The same rows in copies of points with other codecs on the key columns, merged likewise. */
  keyCodecs: { seriesId: string; tenant: string; columns: Record<string, number>; diskPerValue: number }[]
}

/** Codecs tried on points' key columns (empty: the server's default, LZ4). */
const SERIES_ID_CODECS = ['', 'ZSTD(1)', 'Delta, ZSTD(1)', 'DoubleDelta, ZSTD(1)', 'T64, ZSTD(1)']
const TENANT_CODECS = ['', 'ZSTD(1)']

export async function benchStorage(client: ClickHouseClient, hours: number): Promise<StorageResult> {
  const db = `series_layout_storage_${process.pid}_${Date.now()}`
  await migrate(client, options(db))
  try {
    const startMs = (Math.floor(Date.now() / 86_400_000) - 1) * 86_400_000
    const slice = {} as Slice
    const sink = new ClickHouseSink(client, db)
    const registry = new SeriesRegistry()
    let chunkNo = 0
    for (const chunk of generateSlice(hours, startMs, 300, slice)) {
      const batch = newRowBatch(registry)
      // The generator yields the wide tuples the processor used to insert (ts as a DateTime64 literal).
      for (const [tenant, metric, host, labels, ts, value] of chunk)
        addPoint(batch, { tenant, metric, host, labels, tsUs: dateTime64ToMicros(ts), value })
      await sink.write(batch, `bench/${chunkNo++}`)
    }
    const tables = ['points', 'series', ...POINTS_TIERS.map((t) => t.table)]
    for (const t of tables) await client.command({ query: `OPTIMIZE TABLE ${db}.${t} FINAL` })
    const values = slice.description.rows
    const sizes = await Promise.all(tables.map((t) => tableSize(client, db, t)))
    const columns = await query<{ column: string; c: string }>(
      client,
      `SELECT column, sum(column_data_compressed_bytes) AS c FROM system.parts_columns
       WHERE database = '${db}' AND table = 'points' AND active GROUP BY column`,
    )
    const keyCodecs: StorageResult['keyCodecs'] = []
    for (const seriesIdCodec of SERIES_ID_CODECS)
      for (const tenantCodec of TENANT_CODECS) {
        const lab = `lab_${keyCodecs.length}`
        const codec = (c: string): string => (c === '' ? '' : ` CODEC(${c})`)
        await client.command({
          query: `CREATE TABLE ${db}.${lab} (
  tenant LowCardinality(String)${codec(tenantCodec)},
  series_id UInt64${codec(seriesIdCodec)},
  ts DateTime64(6, 'UTC') CODEC(${RAW_TS_CODEC}),
  value Float64 CODEC(${RAW_VALUE_CODEC})
) ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (series_id, ts)`,
        })
        await client.command({
          query: `INSERT INTO ${db}.${lab} SELECT tenant, series_id, ts, value FROM ${db}.points`,
        })
        await client.command({ query: `OPTIMIZE TABLE ${db}.${lab} FINAL` })
        const labColumns = await query<{ column: string; c: string }>(
          client,
          `SELECT column, sum(column_data_compressed_bytes) AS c FROM system.parts_columns
           WHERE database = '${db}' AND table = '${lab}' AND active GROUP BY column`,
        )
        keyCodecs.push({
          seriesId: seriesIdCodec || 'default (LZ4)',
          tenant: tenantCodec || 'default (LZ4)',
          columns: Object.fromEntries(labColumns.map((c) => [c.column, Number(c.c) / values])),
          diskPerValue: (await tableSize(client, db, lab)).disk / values,
        })
      }
    return {
      hours,
      values,
      tables: sizes.map((s) => ({
        ...s,
        diskPerValue: s.disk / values,
        compressedPerValue: s.compressed / values,
      })),
      pointsColumns: Object.fromEntries(columns.map((c) => [c.column, Number(c.c) / values])),
      keyCodecs,
    }
  } finally {
    await client.command({ query: `DROP DATABASE IF EXISTS ${db} SYNC` })
  }
}

export interface MigrationResult {
  rows: number
  series: number
  /** Rows the old tiers held (10 s, 1 min, 1 h). */
  tierRows: Record<string, number>
  writeSeconds: number
  /** migrate() of versions 5 and 6 on the old store, end to end. */
  migrateSeconds: number
  /** Seconds per copied table (all its partitions: fill, swap, record). */
  byTable: Record<string, number>
}

/**
 * A store of the layout before migration 6 with `rows` raw values: 100 hosts × 250 series at 1 s, as
 * many seconds as it takes, from 23:30 two days ago (so it spans at least two daily partitions), each
 * series a line of its own slope in hundredths. Written as the old processor wrote, through metrics_raw and its
 * three views, in inserts of 1 M rows (each with a token, like the processor's chunks).
 */
export async function benchMigration(client: ClickHouseClient, rows: number): Promise<MigrationResult> {
  const db = `series_layout_migration_${process.pid}_${Date.now()}`
  const o = options(db)
  await migrate(client, o, { upTo: 4 })
  try {
    const hosts = 100
    const perHost = 250
    const series = hosts * perHost
    const startS = (Math.floor(Date.now() / 86_400_000) - 1) * 86_400 - 1800
    const written = performance.now()
    const chunk = 1_000_000
    for (let first = 0; first < rows; first += chunk) {
      const n = Math.min(chunk, rows - first)
      await client.command({
        query: `INSERT INTO ${db}.metrics_raw
SETTINGS insert_deduplication_token = 'bench/${first}', deduplicate_blocks_in_dependent_materialized_views = ${RAW_INSERT_SETTINGS.deduplicate_blocks_in_dependent_materialized_views}, parallel_view_processing = 1
SELECT 'bench', concat('node_bench_', toString(s % ${perHost} % 125)), concat('host-', toString(intDiv(s, ${perHost}))),
  concat('{"i":"', toString(s % ${perHost} >= 125), '"}'),
  toDateTime64(${startS} + intDiv(number, ${series}), 6, 'UTC'),
  round((cityHash64(s) % 10000) + intDiv(number, ${series}) * ((cityHash64(s) % 7) / 100), 2)
FROM (SELECT number, number % ${series} AS s FROM numbers(${first}, ${n}))`,
      })
    }
    const writeSeconds = (performance.now() - written) / 1000
    const tierRows: Record<string, number> = {}
    for (const { legacy } of POINTS_TIERS) {
      const [r] = await query<{ n: string }>(client, `SELECT count() AS n FROM ${db}.${legacy}`)
      tierRows[legacy] = Number(r?.n)
    }
    const byTable: Record<string, number> = {}
    let last = performance.now()
    const started = last
    await migrate(client, o, {
      onPartition: (e: PartitionEvent) => {
        if (e.phase !== 'recorded') return
        const now = performance.now()
        const table = e.step.split('/')[0] ?? e.step
        byTable[table] = (byTable[table] ?? 0) + (now - last) / 1000
        last = now
      },
    })
    return {
      rows,
      series,
      tierRows,
      writeSeconds,
      migrateSeconds: (performance.now() - started) / 1000,
      byTable,
    }
  } finally {
    await client.command({ query: `DROP DATABASE IF EXISTS ${db} SYNC` })
  }
}

function storageMarkdown(r: StorageResult): string {
  const lines = [
    `${r.hours} h of one node_exporter-like host, ${r.values.toLocaleString('en')} raw values, every table merged:`,
    '',
    '| table | rows | parts | on disk per raw value (B) | compressed columns per raw value (B) |',
    '| ----- | ---: | ----: | ------------------------: | -----------------------------------: |',
    ...r.tables.map(
      (t) =>
        `| \`${t.table}\` | ${t.rows.toLocaleString('en')} | ${t.parts} | ${t.diskPerValue.toFixed(3)} | ${t.compressedPerValue.toFixed(3)} |`,
    ),
    '',
    `points by column (compressed B per raw value): ${Object.entries(r.pointsColumns)
      .map(([c, b]) => `${c} ${b.toFixed(3)}`)
      .join(', ')}`,
    '',
    '| series_id codec | tenant codec | series_id | tenant | ts | value | on disk per raw value |',
    '| --------------- | ------------ | --------: | -----: | -: | ----: | --------------------: |',
    ...r.keyCodecs.map(
      (k) =>
        `| ${k.seriesId} | ${k.tenant} | ${['series_id', 'tenant', 'ts', 'value'].map((c) => (k.columns[c] ?? 0).toFixed(4)).join(' | ')} | ${k.diskPerValue.toFixed(3)} |`,
    ),
  ]
  return lines.join('\n')
}

function migrationMarkdown(r: MigrationResult): string {
  return [
    `Old store: ${r.rows.toLocaleString('en')} raw values of ${r.series.toLocaleString('en')} series, tiers ${Object.entries(
      r.tierRows,
    )
      .map(([t, n]) => `${t} ${n.toLocaleString('en')}`)
      .join(', ')} rows; written in ${r.writeSeconds.toFixed(1)} s.`,
    `migrate() (5 and 6): ${r.migrateSeconds.toFixed(1)} s, ${((r.migrateSeconds * 1e8) / r.rows).toFixed(0)} s per 100 M raw values.`,
    `By table: ${Object.entries(r.byTable)
      .map(([t, s]) => `${t} ${s.toFixed(1)} s`)
      .join(', ')}.`,
  ].join('\n')
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      hours: { type: 'string', default: '6' },
      rows: { type: 'string', default: '100000000' },
      json: { type: 'boolean', default: false },
    },
  })
  const mode = positionals[0]
  if (mode !== 'storage' && mode !== 'migration') throw new Error('usage: series-layout.ts storage|migration')
  const dir = mkdtempSync(join(tmpdir(), 'procstream-series-layout-'))
  const client = await createClickHouse(readClickHouseConfig(new ConfigReader({}), dir))
  try {
    const result =
      mode === 'storage'
        ? await benchStorage(client, Number(values.hours))
        : await benchMigration(client, Number(values.rows))
    process.stdout.write(
      `${values.json ? JSON.stringify(result, null, 2) : mode === 'storage' ? storageMarkdown(result as StorageResult) : migrationMarkdown(result as MigrationResult)}\n`,
    )
  } finally {
    await client.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
