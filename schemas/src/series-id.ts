import { createHash } from 'node:crypto'

/**
 * A series' id: the first 8 bytes, little-endian, of MD5(tenant NUL metric NUL host NUL labels), with
 * labels in their canonical spelling. The same number as SERIES_ID_SQL in schemas/clickhouse/ddl.ts,
 * so rows stored before the series-id layout get the ids of the rows that follow them. A hash, not a
 * counter: every processor, and the migration, names a series alike without asking anyone.
 * Computed once per series (the processors cache it), so MD5's cost does not matter.
 */
export function seriesId(tenant: string, metric: string, host: string, labels: string): bigint {
  return createHash('md5').update(`${tenant}\0${metric}\0${host}\0${labels}`).digest().readBigUInt64LE(0)
}

/** The id as the two 32-bit halves a UInt64 column is written from without a BigInt per row. */
export function seriesIdHalves(id: bigint): { lo: number; hi: number } {
  return { lo: Number(id & 0xffffffffn), hi: Number(id >> 32n) }
}
