import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ConfigError } from '#platform/errors.ts'
import { clickHouseString } from '#platform/clickhouse-literal.ts'

/**
 * Insert formats whose bodies are bytes, not text. chdb takes an inline INSERT's data as the tail of
 * the query text and ends it at the first blank line ("\n\n"), which a Float64 or Int64 in these
 * formats holds often enough (bench/chdb-insert-ceiling.ts measured four batches in ten cut short);
 * so their bodies never join the SQL: they are written to a file the engine reads with
 * `FROM INFILE`. Lower case: the engine matches format names without regard to case.
 */
const BINARY_FORMATS = new Set([
  'rowbinary',
  'rowbinarywithnames',
  'rowbinarywithnamesandtypes',
  'rowbinarywithdefaults',
  'native',
  'arrow',
  'arrowstream',
  'parquet',
])

export function isBinaryFormat(format: string): boolean {
  return BINARY_FORMATS.has(format.toLowerCase())
}

/**
 * A name as the engine's formatter writes it: bare, or in backquotes with backslash escapes (it
 * quotes anything that is not a plain identifier, `my table` or `é` alike).
 */
const NAME = String.raw`(?:[A-Za-z_][A-Za-z0-9_]*|\`(?:[^\`\\]|\\[\s\S])*\`)`
const TABLE_TARGET = new RegExp(String.raw`^INSERT INTO ${NAME}(?:\.${NAME})?`)

/**
 * The engine's rendering of an INSERT head cut where `FROM INFILE` goes: after the table and its
 * column list, before the SETTINGS and FORMAT clauses (the parser takes it nowhere else). Undefined
 * for any other shape: a table function, a table named by a query parameter, a SELECT, a head that
 * already reads a file. The rendering is the formatter's own (`formatQuerySingleLine`), whose
 * quoting this reads exactly; the caller still has the parser confirm the rewritten head.
 */
export function infileSplit(rendered: string): { before: string; after: string } | undefined {
  const target = TABLE_TARGET.exec(rendered)
  if (target === null) return undefined
  let at = target[0].length
  if (rendered.startsWith(' (', at)) {
    const close = closingParenthesis(rendered, at + 1)
    if (close === undefined) return undefined
    at = close + 1
  }
  const after = rendered.slice(at)
  if (!/^ (?:SETTINGS|FORMAT) /.test(after)) return undefined
  return { before: rendered.slice(0, at), after }
}

/** Where the parenthesis at `open` closes, stepping over quoted names and strings. */
function closingParenthesis(text: string, open: number): number | undefined {
  let depth = 0
  for (let i = open; i < text.length; i++) {
    const c = text[i]
    if (c === "'" || c === '"' || c === '`') {
      const end = closingQuote(text, i)
      if (end === undefined) return undefined
      i = end
    } else if (c === '(') depth++
    else if (c === ')' && --depth === 0) return i
  }
  return undefined
}

function closingQuote(text: string, start: number): number | undefined {
  const quote = text[start]
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++
    else if (text[i] === quote) return i
  }
  return undefined
}

/**
 * The clause that makes the engine read an INSERT's data from `path`. COMPRESSION is named so that
 * nothing is inferred from the file name.
 */
export function infileClause(path: string): string {
  return ` FROM INFILE ${clickHouseString(path)} COMPRESSION 'none'`
}

/**
 * FROM INFILE expands globs (`*`, `?`, `{a,b}`) in its path: the spool folder's path must hold none,
 * so that the engine reads the one file written and no other.
 */
const GLOB_FREE_PATH = /^\/[A-Za-z0-9_./-]*$/

/**
 * A folder of this server's own for binary INSERT bodies on their way to the engine: mode 0700, one
 * file per statement (0600, a random name, created exclusively), removed when the statement ends
 * however it ends. The folder itself goes with `close()`; a process that is killed leaves it in the
 * temporary folder, empty unless a statement was running.
 */
export class BodySpool {
  readonly dir: string

  /** `parent`: the operating system's temporary folder (TMPDIR) unless given. */
  constructor(parent: string = tmpdir()) {
    const base = resolve(parent)
    if (!GLOB_FREE_PATH.test(base))
      throw new ConfigError([
        `the temporary folder ${JSON.stringify(base)} holds characters other than letters, digits and _ . / -; ` +
          'binary INSERT bodies are read from files there by a statement that would take them as a glob ' +
          '(set TMPDIR to another folder)',
      ])
    this.dir = mkdtempSync(join(base, 'procstream-storage-bodies-'))
    // mkdtemp makes it 0700 already; said here so that no umask or platform difference can widen it.
    chmodSync(this.dir, 0o700)
  }

  /** Runs `use` with `body` in a private file, which is gone when the returned promise settles. */
  async withFile<T>(body: Buffer, use: (path: string) => Promise<T>): Promise<T> {
    const path = join(this.dir, `${randomBytes(16).toString('hex')}.bin`)
    try {
      await writeFile(path, body, { flag: 'wx', mode: 0o600 })
      return await use(path)
    } finally {
      await rm(path, { force: true })
    }
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** An error of the engine, with its ClickHouse code, as chdb raises them. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly clickhouseCode: number,
  ) {
    super(message)
  }
}

/**
 * The engine's error about a body it read from `path`, told about the request body instead: the
 * client never saw the file, and its name is the server's business.
 */
export function bodyError(err: unknown, path: string, format: string): unknown {
  const code = (err as { clickhouseCode?: unknown } | undefined)?.clickhouseCode
  if (!(err instanceof Error) || typeof code !== 'number') return err
  const message = err.message
    .split(`in file/uri ${path}`)
    .join(`in the ${format} request body`)
    .split(path)
    .join(`the ${format} request body`)
    .replace(
      /data for INSERT was parsed from file/g,
      `data for INSERT was read from the ${format} request body`,
    )
  return new EngineError(message, code)
}
