/**
 * Bytes on disk of one database of an embedded ClickHouse directory after every MergeTree table is
 * merged (OPTIMIZE … FINAL): the procstream side's counterpart of VictoriaMetrics' flush and forced
 * merge. A process of its own because chdb binds one data directory per process, and the bench's own
 * process may already hold another.
 * `node --import tsx bench/peers/chdb-footprint.ts EMBEDDED_PATH DATABASE` prints TableFootprint[] as JSON.
 */
import { createClickHouse } from '#platform/clickhouse.ts'

export interface TableFootprint {
  table: string
  rows: number
  bytes: number
}

async function main(): Promise<void> {
  const [path, database] = process.argv.slice(2)
  if (path === undefined || database === undefined)
    throw new Error('usage: chdb-footprint.ts EMBEDDED_PATH DATABASE')
  const client = await createClickHouse({
    url: undefined,
    user: 'default',
    password: '',
    database,
    embeddedPath: path,
  })
  try {
    const rows = async <T>(query: string): Promise<T[]> =>
      (await client.query({ query, query_params: { database }, format: 'JSONEachRow' })).json<T>()
    const tables = await rows<{ name: string }>(
      "SELECT name FROM system.tables WHERE database = {database:String} AND engine LIKE '%MergeTree%'",
    )
    for (const { name } of tables)
      await client.command({ query: `OPTIMIZE TABLE ${database}.\`${name}\` FINAL` })
    const parts = await rows<{ table: string; rows: string; bytes: string }>(
      'SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND database = {database:String} GROUP BY table ORDER BY bytes DESC',
    )
    const out: TableFootprint[] = parts.map((p) => ({
      table: p.table,
      rows: Number(p.rows),
      bytes: Number(p.bytes),
    }))
    process.stdout.write(`${JSON.stringify(out)}\n`)
  } finally {
    await client.close()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
