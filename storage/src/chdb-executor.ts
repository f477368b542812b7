import { Session } from 'chdb'

/** One statement as the HTTP interface received it, its parameters and settings still in text form. */
export interface Statement {
  /** The SQL, with an INSERT's data after it (ClickHouse's `query` parameter + body rule). */
  sql: string
  /** `{name:Type}` parameters in ClickHouse's text form (what `param_name=` carries). */
  params: ReadonlyMap<string, string>
  /** Settings for this statement only, values in text form. */
  settings: ReadonlyMap<string, string>
  database: string | undefined
  /** The output format when the SQL names none (ClickHouse's `default_format`). */
  format: string
  /** A GET: ClickHouse runs those with readonly=2, and so does this server. */
  readonly: boolean
}

export interface Outcome {
  bytes: Buffer
  rowsRead: number
  bytesRead: number
  elapsedSeconds: number
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** A ClickHouse string literal: backslash escapes, as the engine reads them. */
function literal(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

/**
 * The SET/USE statements that give a statement its parameters, settings and database. Names were
 * checked by the HTTP layer; they are checked again here because they are spliced into SQL.
 */
export function preludeOf(statement: Statement): string[] {
  const prelude: string[] = []
  const name = (n: string): string => {
    if (!IDENTIFIER.test(n)) throw new Error(`${JSON.stringify(n)} is not an identifier`)
    return n
  }
  if (statement.database !== undefined) prelude.push(`USE ${name(statement.database)}`)
  for (const [key, value] of statement.params) prelude.push(`SET param_${name(key)} = ${literal(value)}`)
  for (const [key, value] of statement.settings) prelude.push(`SET ${name(key)} = ${literal(value)}`)
  if (statement.readonly) prelude.push('SET readonly = 2')
  return prelude
}

/**
 * Runs statements on the embedded engine for several client processes at once. chdb binds one data
 * folder per process, but any number of sessions may share it, and each session has its own settings:
 * a statement that sets anything runs in a session of its own (about 1.5 ms to open), so nothing it
 * sets can leak into another client's statement, as it would through one shared session.
 */
export class ChdbExecutor {
  /** Held open for the server's life: it keeps the engine up between statements. */
  private readonly base: Session

  constructor(private readonly path: string) {
    this.base = new Session(path)
  }

  async run(statement: Statement): Promise<Outcome> {
    const prelude = preludeOf(statement)
    const options = { format: statement.format }
    let session = this.base
    if (prelude.length > 0) session = new Session(this.path)
    try {
      const sql = prelude.length === 0 ? statement.sql : `${prelude.join(';\n')};\n${statement.sql}`
      const result = await session.queryAsync(sql, options)
      return {
        bytes: Buffer.from(result.bytes()),
        rowsRead: result.rowsRead,
        bytesRead: result.bytesRead,
        elapsedSeconds: result.elapsed,
      }
    } finally {
      if (session !== this.base) session.close()
    }
  }

  /** Fails when the engine cannot answer: the readiness probe. */
  async ping(): Promise<void> {
    await this.base.queryAsync('SELECT 1', { format: 'CSV' })
  }

  close(): void {
    this.base.close()
  }
}
