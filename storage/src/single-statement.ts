import { StorageError } from './errors.ts'
import type { Statement } from './chdb-executor.ts'

/**
 * The engine's own parser, handed a text as data (a bound parameter, never spliced into SQL): resolves
 * to the engine's one-line rendering of the text when it is exactly one statement, rejects with the
 * engine's error otherwise. Nothing in the text is executed.
 */
export type StatementParser = (text: string) => Promise<string>

/** The parser as a query on a chdb session: formatQuerySingleLine refuses multi-statements. */
export const PARSE_QUERY = 'SELECT formatQuerySingleLine({q:String})'

/**
 * What follows an INSERT in the Values format is read up to the first `;`, and chdb runs the text
 * after that as further statements, which the parser (that stops where an INSERT's data begins) never
 * sees: measured on chdb 3.4 / ClickHouse 26.7, `INSERT INTO t VALUES (1); CREATE TABLE x …` creates
 * x while the parser accepts the text. Every other format's data runs to the end of the text.
 */
const VALUES_INSERT = /^INSERT\b[\s\S]*\bFORMAT\s+values\s*$/i

/** An INSERT whose rendering ends in a data format: the text after it is that format's data. */
const INSERT_WITH_DATA = /^INSERT\b[\s\S]*\bFORMAT\s+\w+\s*$/i

/** Heads (the `query` parameter of an INSERT with a body) already proven; they repeat on every batch. */
const MAX_PROVEN_HEADS = 256

/**
 * Proves that a request holds one statement and nothing more before any of it runs, with the engine's
 * parser reading the text as data. An INSERT's data is not a statement: when the `query` parameter is
 * an INSERT taking data in a named format, what the body holds is that data, so only the parameter
 * needs proving (and the body is not handed to the parser, which for a processor's batch would copy
 * megabytes); otherwise the whole text, parameter and body, is proven as one statement.
 */
export class SingleStatementGuard {
  constructor(
    private readonly parse: StatementParser,
    /** Heads proven before, by any guard sharing the set: a verdict depends on the text alone. */
    private readonly provenHeads: Set<string> = new Set(),
  ) {}

  async check(statement: Statement): Promise<void> {
    if (statement.head !== undefined && (await this.headTakesData(statement.head))) return
    const rendered = await this.render(statement.sql)
    if (VALUES_INSERT.test(rendered)) throw valuesRefusal()
  }

  /**
   * Whether everything after `head` is an INSERT's data. Two proofs by the parser: the head alone is
   * one INSERT ending in a data format, and a statement placed after it is not seen as one (it would be,
   * after an `INSERT … SELECT … FORMAT CSV`, which takes no data: then the body is SQL).
   */
  private async headTakesData(head: string): Promise<boolean> {
    if (this.provenHeads.has(head)) return true
    let rendered: string
    try {
      rendered = await this.parse(head)
      await this.parse(`${head}\n;SELECT 1`)
    } catch {
      // Not proven here: the whole text is then proven (or refused) as one statement.
      return false
    }
    if (!INSERT_WITH_DATA.test(rendered)) return false
    if (VALUES_INSERT.test(rendered)) throw valuesRefusal()
    if (this.provenHeads.size >= MAX_PROVEN_HEADS) this.provenHeads.clear()
    this.provenHeads.add(head)
    return true
  }

  private async render(text: string): Promise<string> {
    try {
      return await this.parse(text)
    } catch (err) {
      // Refused before the engine saw it (platform/clickhouse-format.ts): the refusal is the answer.
      if (err instanceof StorageError) throw err
      const message = err instanceof Error ? err.message : String(err)
      if (message.includes('Multi-statements are not allowed'))
        throw new StorageError(
          'SYNTAX_ERROR',
          'the request holds more than one statement; send one statement per request (nothing was run)',
        )
      // Not the parser's verdict (the engine failed): a 500, and still nothing of the text ran.
      if (typeof (err as { clickhouseCode?: unknown }).clickhouseCode !== 'number') throw err
      // The engine's words about the caller's own text, without the wrapping query the check ran.
      const detail = message
        .replace(/^Code: \d+\. DB::Exception: /, '')
        .replace(/\s*:?\s*In scope SELECT formatQuerySingleLine\([\s\S]*$/, '')
        .replace(/[\s.]+$/, '')
      throw new StorageError('SYNTAX_ERROR', `the statement does not parse (nothing was run): ${detail}`)
    }
  }
}

function valuesRefusal(): StorageError {
  return new StorageError(
    'BAD_ARGUMENTS',
    "INSERT … VALUES is not accepted: the engine reads its rows up to a ';' and would run what follows " +
      'as another statement; send the rows in a named format (FORMAT JSONEachRow, CSV, TSV …)',
  )
}
