import { infileClause, infileSplit, isBinaryFormat } from './binary-insert.ts'
import { StorageError } from './errors.ts'
import { sqlOf } from './request.ts'
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
 * How a request's text is to be run, once proven:
 * - `sql`: as SQL text, the `query` parameter and the body joined (a text INSERT's data, or the
 *   statement itself);
 * - `binary`: an INSERT whose body is bytes in a binary `format`; the engine reads the body from a
 *   file, the statement being `before + infileClause(path) + after` (the engine's own rendering of
 *   the head with the clause put where its parser takes it).
 */
export type Verdict = { kind: 'sql' } | { kind: 'binary'; format: string; before: string; after: string }

/** A string literal of a path, for proving the rewritten head: any literal parses alike. */
const PLACEHOLDER_PATH = '/procstream-storage-body'

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
    /** Heads proven before, by any guard sharing the map: a verdict depends on the text alone. */
    private readonly provenHeads: Map<string, Verdict> = new Map(),
  ) {}

  /** The verdict on `statement`, or the refusal. */
  async check(statement: Statement): Promise<Verdict> {
    if (statement.head !== undefined) {
      const verdict = await this.headVerdict(statement.head)
      if (verdict !== undefined) return verdict
    }
    const rendered = await this.render(sqlOf(statement))
    if (VALUES_INSERT.test(rendered)) throw valuesRefusal()
    const format = INSERT_WITH_DATA.test(rendered) ? formatOf(rendered) : ''
    // Binary data inside the SQL text would be decoded and cut like text: stored wrong, or not at all.
    if (isBinaryFormat(format) && statement.body.length > 0)
      throw new StorageError(
        'BAD_ARGUMENTS',
        `${format} data is taken only with its INSERT in the query parameter and the data alone in the ` +
          'body; after the statement in the body it would be read as text (nothing was run)',
      )
    return { kind: 'sql' }
  }

  /**
   * The verdict when everything after `head` is an INSERT's data, else undefined (then the whole
   * text is proven as one statement). The head alone must be one INSERT ending in a data format. For
   * a text format, a statement placed after it must not be seen as one (it would be, after an
   * `INSERT … SELECT … FORMAT CSV`, which takes no data: then the body is SQL). For a binary format
   * the body never joins the SQL, and the head must be one the engine can read a file into.
   */
  private async headVerdict(head: string): Promise<Verdict | undefined> {
    const known = this.provenHeads.get(head)
    if (known !== undefined) return known
    let rendered: string
    try {
      rendered = await this.parse(head)
    } catch {
      // Not proven here: the whole text is then proven (or refused) as one statement.
      return undefined
    }
    if (!INSERT_WITH_DATA.test(rendered)) return undefined
    if (VALUES_INSERT.test(rendered)) throw valuesRefusal()
    const format = formatOf(rendered)
    let verdict: Verdict
    if (isBinaryFormat(format)) {
      verdict = await this.binaryVerdict(rendered, format)
    } else {
      try {
        await this.parse(`${head}\n;SELECT 1`)
      } catch {
        return undefined
      }
      verdict = { kind: 'sql' }
    }
    if (this.provenHeads.size >= MAX_PROVEN_HEADS) this.provenHeads.clear()
    this.provenHeads.set(head, verdict)
    return verdict
  }

  /**
   * The head rewritten to read its data from a file, proven by the parser: the rewritten text must be
   * one statement the formatter writes back unchanged, so the clause stands where it was put, as a
   * clause, and nothing else of the head moved.
   */
  private async binaryVerdict(rendered: string, format: string): Promise<Verdict> {
    const split = infileSplit(rendered)
    const refusal = new StorageError(
      'BAD_ARGUMENTS',
      `a ${format} body is taken by INSERT INTO [db.]table [(columns)] [SETTINGS …] FORMAT ${format} ` +
        `only, with the statement in the query parameter; not by ${JSON.stringify(rendered)} (nothing was run)`,
    )
    if (split === undefined) throw refusal
    const rewritten = split.before + infileClause(PLACEHOLDER_PATH) + split.after
    let again: string
    try {
      again = await this.parse(rewritten)
    } catch (err) {
      // The parser's verdict is the refusal; the engine failing otherwise is not the caller's doing.
      if (typeof (err as { clickhouseCode?: unknown }).clickhouseCode === 'number') throw refusal
      throw err
    }
    if (again !== rewritten) throw refusal
    return { kind: 'binary', format, before: split.before, after: split.after }
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

/** The format an INSERT's rendering ends in. */
function formatOf(rendered: string): string {
  return /(\w+)\s*$/.exec(rendered)?.[1] ?? ''
}

function valuesRefusal(): StorageError {
  return new StorageError(
    'BAD_ARGUMENTS',
    "INSERT … VALUES is not accepted: the engine reads its rows up to a ';' and would run what follows " +
      'as another statement; send the rows in a named format (FORMAT JSONEachRow, CSV, TSV …)',
  )
}
