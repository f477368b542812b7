import { Readable } from 'node:stream'
import type { ClickHouseClient } from '@clickhouse/client'
import { clickHouseString } from './clickhouse-literal.ts'
import { arrowColumns, CLICKHOUSE_TYPE, rowBinary, type ArrowColumn, type ColumnarBatch } from './columnar.ts'

/** How rows reach the engine: CLICKHOUSE_INSERT_PATH, `auto` picking arrow (embedded) or row-binary (server). */
export type InsertPath = 'arrow' | 'row-binary' | 'json'

/** Settings of one insert: numbers, or text that is quoted as a string literal. */
export type InsertSettings = Readonly<Record<string, string | number>>

/**
 * Where the processors' rows go: columns in, stored rows out, the settings (the deduplication token
 * above all) applied to that insert alone. One interface over the two transports, so the sink above
 * it is one code path.
 */
export interface ColumnarInserter {
  readonly kind: InsertPath
  insert(batch: ColumnarBatch, settings: InsertSettings): Promise<void>
  close(): Promise<void>
}

/** `SETTINGS a = 1, b = 'x'`, every value a number or a quoted literal. */
export function settingsClause(settings: InsertSettings): string {
  const parts = Object.entries(settings).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`not a setting name: ${JSON.stringify(k)}`)
    return `${k} = ${typeof v === 'number' ? String(v) : clickHouseString(v)}`
  })
  return parts.length > 0 ? ` SETTINGS ${parts.join(', ')}` : ''
}

const TABLE = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/

function checkTable(table: string): void {
  if (!TABLE.test(table)) throw new Error(`not a database.table name: ${JSON.stringify(table)}`)
}

/** The slice of chdb-node's Session the Arrow path uses (chdb 3.4, pinned in package.json). */
interface ChdbSession {
  readonly connection: unknown
  queryAsync(sql: string, opts?: { format?: string }): Promise<unknown>
  close(): void
}

interface ChdbArrowModule {
  Session: new (path: string) => ChdbSession
  _arrowRegisterColumns(connection: unknown, name: string, columns: ArrowColumn[]): void
  _arrowUnregister(connection: unknown, name: string): void
}

/**
 * Embedded ClickHouse: columns handed over as Arrow arrays in JS memory and read by
 * `INSERT … SELECT … FROM arrowstream(name)` (measured on chdb 3.4 here: 0.15–0.3 µs per row of
 * (UInt64, DateTime64, Float64), against 15–20× that for the same rows as JSONCompactEachRow). The
 * registration API is underscore-prefixed in chdb-node: the version is pinned, the path is covered by
 * the sink's integration tests, and `CLICKHOUSE_INSERT_PATH=json` is the fallback.
 *
 * Sessions of its own, apart from those that answer queries: an insert never waits behind a
 * dashboard's query on one session, and a query never inherits an insert's settings.
 */
export class ArrowInserter implements ColumnarInserter {
  readonly kind = 'arrow'
  private readonly sessions: ChdbSession[] = []
  private readonly busy: number[] = []
  private seq = 0

  private constructor(
    private readonly chdb: ChdbArrowModule,
    path: string,
    sessions: number,
  ) {
    for (let i = 0; i < sessions; i++) {
      this.sessions.push(new chdb.Session(path))
      this.busy.push(0)
    }
  }

  static async open(path: string, sessions = 2): Promise<ArrowInserter> {
    const mod = (await import('chdb')) as unknown as { default?: ChdbArrowModule } & ChdbArrowModule
    const chdb = mod.default ?? mod
    if (typeof chdb._arrowRegisterColumns !== 'function')
      throw new Error('this chdb has no _arrowRegisterColumns: set CLICKHOUSE_INSERT_PATH=json')
    return new ArrowInserter(chdb, path, sessions)
  }

  async insert(batch: ColumnarBatch, settings: InsertSettings): Promise<void> {
    checkTable(batch.table)
    if (batch.rows === 0) return
    const { columns, select } = arrowColumns(batch, clickHouseString)
    let pick = 0
    for (let i = 1; i < this.sessions.length; i++) if ((this.busy[i] ?? 0) < (this.busy[pick] ?? 0)) pick = i
    const session = this.sessions[pick] as ChdbSession
    // Registered names live on the session's connection; a counter keeps concurrent inserts apart.
    const name = `procstream_insert_${String(++this.seq)}`
    this.busy[pick] = (this.busy[pick] ?? 0) + 1
    this.chdb._arrowRegisterColumns(session.connection, name, columns)
    try {
      await session.queryAsync(
        `INSERT INTO ${batch.table} (${batch.columns.map((c) => c.name).join(', ')}) ` +
          `SELECT ${select.join(', ')} FROM arrowstream(${clickHouseString(name)})${settingsClause(settings)}`,
      )
    } finally {
      this.busy[pick] = (this.busy[pick] ?? 1) - 1
      try {
        this.chdb._arrowUnregister(session.connection, name)
      } catch {
        // Already consumed and dropped by the engine: nothing is left pinned.
      }
    }
  }

  close(): Promise<void> {
    for (const s of this.sessions.splice(0)) s.close()
    return Promise.resolve()
  }
}

/**
 * A ClickHouse server (or `npm run storage`): the rows as one RowBinary body of
 * `INSERT INTO t (cols) SETTINGS … FORMAT RowBinary`, the statement in the URL, the bytes in the body.
 */
export class RowBinaryInserter implements ColumnarInserter {
  readonly kind = 'row-binary'

  constructor(private readonly client: ClickHouseClient) {}

  async insert(batch: ColumnarBatch, settings: InsertSettings): Promise<void> {
    checkTable(batch.table)
    if (batch.rows === 0) return
    const body = rowBinary(batch)
    const cols = batch.columns.map((c) => c.name).join(', ')
    const result = await this.client.exec({
      query: `INSERT INTO ${batch.table} (${cols})${settingsClause(settings)} FORMAT RowBinary`,
      values: Readable.from([body]),
    })
    // The answer of an INSERT is empty; reading it to the end frees the socket for the next request.
    result.stream.resume()
    await new Promise<void>((resolve, reject) => {
      result.stream.once('end', resolve)
      result.stream.once('error', reject)
    })
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

/**
 * The fallback: JSONCompactEachRow through the client, as every insert was before the binary paths.
 * 15–20× their cost per row; kept for a chdb without the Arrow registration, and as the reference the
 * binary paths are tested against.
 */
export class JsonInserter implements ColumnarInserter {
  readonly kind = 'json'

  constructor(private readonly client: ClickHouseClient) {}

  async insert(batch: ColumnarBatch, settings: InsertSettings): Promise<void> {
    checkTable(batch.table)
    if (batch.rows === 0) return
    const getters = batch.columns.map(({ data }): ((r: number) => unknown) => {
      switch (data.kind) {
        case 'dict':
          return (r) => data.dict[data.index[r] ?? 0]
        case 'string':
          return (r) => data.values[r]
        case 'uint64':
          return (r) =>
            ((BigInt(data.words[2 * r + 1] ?? 0) << 32n) | BigInt(data.words[2 * r] ?? 0)).toString()
        case 'micros':
          return (r) => {
            const us = (data.words[2 * r + 1] ?? 0) * 0x1_0000_0000 + (data.words[2 * r] ?? 0)
            const secs = Math.floor(us / 1_000_000)
            return `${String(secs)}.${String(us - secs * 1_000_000).padStart(6, '0')}`
          }
        case 'float64':
        case 'uint32':
          return (r) => data.values[r]
        case 'date':
          return (r) => new Date((data.values[r] ?? 0) * 86_400_000).toISOString().slice(0, 10)
      }
    })
    const values: unknown[][] = []
    for (let r = 0; r < batch.rows; r++) values.push(getters.map((g) => g(r)))
    await this.client.insert({
      table: batch.table,
      columns: batch.columns.map((c) => c.name) as [string, ...string[]],
      values,
      format: 'JSONCompactEachRow',
      clickhouse_settings: settings,
    })
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

/** The ClickHouse type list of a batch, for `format()`/`file()` readers in tests and tools. */
export function structureOf(batch: ColumnarBatch): string {
  return batch.columns.map((c) => `${c.name} ${CLICKHOUSE_TYPE[c.data.kind]}`).join(', ')
}
