import { Session } from 'chdb'
import { formatterHazard } from '#platform/clickhouse-format.ts'
import { clickHouseString } from '#platform/clickhouse-literal.ts'
import { BodySpool, bodyError, infileClause } from './binary-insert.ts'
import { StorageError } from './errors.ts'
import { sqlOf } from './request.ts'
import { PARSE_QUERY, SingleStatementGuard, type Verdict } from './single-statement.ts'

/** One statement as the HTTP interface received it, its parameters and settings still in text form. */
export interface Statement {
  /** The `query` parameter, '' when there is none. */
  query: string
  /**
   * The body as received (after its Content-Encoding), never decoded here: SQL text, or an INSERT's
   * data in any format, binary ones included.
   */
  body: Buffer
  /**
   * The `query` parameter when a body follows it, else undefined: when it is an INSERT taking data,
   * the body is that data, and the parameter is the whole statement (SingleStatementGuard).
   */
  head: string | undefined
  /** `{name:Type}` parameters in ClickHouse's text form (what `param_name=` carries). */
  params: ReadonlyMap<string, string>
  /** Settings for this statement only, values in text form. */
  settings: ReadonlyMap<string, string>
  database: string | undefined
  /** The output format when the SQL names none (ClickHouse's `default_format`). */
  format: string
  /** Not a POST: ClickHouse runs GETs with readonly=2, and so does this server. */
  readonly: boolean
}

export interface Outcome {
  bytes: Buffer
  rowsRead: number
  bytesRead: number
  elapsedSeconds: number
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

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
  for (const [key, value] of statement.params)
    prelude.push(`SET param_${name(key)} = ${clickHouseString(value)}`)
  for (const [key, value] of statement.settings) prelude.push(`SET ${name(key)} = ${clickHouseString(value)}`)
  if (statement.readonly) prelude.push('SET readonly = 2')
  return prelude
}

/** The engine's parser on a session, the text bound as a parameter: it is parsed, never run. */
function parserOn(session: Session): (text: string) => Promise<string> {
  return async (text) => {
    const hazard = formatterHazard(text)
    if (hazard !== undefined) throw new StorageError('SYNTAX_ERROR', `${hazard} (nothing was run)`)
    return Buffer.from(
      (await session.queryBindAsync(PARSE_QUERY, { q: text }, { format: 'RawBLOB' })).bytes(),
    ).toString('utf8')
  }
}

/** Statements run at once; more wait their turn, so bodies in memory and open sessions stay bounded. */
export const MAX_CONCURRENT_STATEMENTS = 8

/**
 * Runs statements on the embedded engine for several client processes at once. chdb binds one data
 * folder per process, but any number of sessions may share it, each with its own settings and current
 * database, and a session runs one statement at a time. So every statement gets a session of its own
 * (about 1.5 ms to open): nothing one client sets, by URL or by a SET or USE in its SQL, reaches
 * another's statement, and statements run at once, up to MAX_CONCURRENT_STATEMENTS.
 */
export class ChdbExecutor {
  /** Held open for the server's life: it keeps the engine up between statements. */
  private readonly base: Session
  private running = 0
  /** INSERT heads proven to take data, shared by every statement's guard. */
  private readonly provenHeads = new Map<string, Verdict>()
  private readonly waiting: (() => void)[] = []
  /** Where binary INSERT bodies wait, as files, for the engine to read them. */
  private readonly spool: BodySpool

  /** `spoolParent`: where the folder for binary bodies is made, the temporary folder by default. */
  constructor(
    private readonly path: string,
    options: { spoolParent?: string } = {},
  ) {
    this.spool = new BodySpool(options.spoolParent)
    try {
      this.base = new Session(path)
    } catch (err) {
      this.spool.close()
      throw err
    }
  }

  /** The folder binary bodies are written to while their statement runs (mode 0700). */
  get spoolDir(): string {
    return this.spool.dir
  }

  private async acquire(): Promise<void> {
    if (this.running < MAX_CONCURRENT_STATEMENTS) {
      this.running++
      return
    }
    // The finishing statement hands its slot over, so running never passes the limit.
    await new Promise<void>((resolve) => this.waiting.push(resolve))
  }

  private release(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.running--
  }

  async run(statement: Statement): Promise<Outcome> {
    const prelude = preludeOf(statement)
    await this.acquire()
    const session = new Session(this.path)
    try {
      // On the statement's own fresh session, before its settings, so nothing the request set can
      // change how the parser judges it.
      const verdict = await new SingleStatementGuard(parserOn(session), this.provenHeads).check(statement)
      const withPrelude = (sql: string): string =>
        prelude.length === 0 ? sql : `${prelude.join(';\n')};\n${sql}`
      const result =
        verdict.kind === 'sql'
          ? await session.queryAsync(withPrelude(sqlOf(statement)), { format: statement.format })
          : // The body never joins the SQL: the engine reads it from a file, bytes as they came.
            await this.spool.withFile(statement.body, async (file) => {
              const sql = verdict.before + infileClause(file) + verdict.after
              try {
                return await session.queryAsync(withPrelude(sql), { format: statement.format })
              } catch (err) {
                throw bodyError(err, file, verdict.format)
              }
            })
      return {
        bytes: Buffer.from(result.bytes()),
        rowsRead: result.rowsRead,
        bytesRead: result.bytesRead,
        elapsedSeconds: result.elapsed,
      }
    } finally {
      session.close()
      this.release()
    }
  }

  /** Fails when the engine cannot answer: the readiness probe. */
  async ping(): Promise<void> {
    await this.base.queryAsync('SELECT 1', { format: 'CSV' })
  }

  close(): void {
    this.base.close()
    this.spool.close()
  }
}
