import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError } from '#platform/errors.ts'
import {
  BodySpool,
  bodyError,
  EngineError,
  infileClause,
  infileSplit,
  isBinaryFormat,
} from './binary-insert.ts'

describe('infileSplit', () => {
  it('cuts the engine’s rendering of a table INSERT after the table and its columns', () => {
    const cases: [string, string][] = [
      ['INSERT INTO d.t FORMAT RowBinary', 'INSERT INTO d.t'],
      ['INSERT INTO t (a, b) FORMAT Native', 'INSERT INTO t (a, b)'],
      [
        "INSERT INTO d.points (tenant, series_id, ts, value) SETTINGS insert_deduplicate = 1, insert_deduplication_token = 'p/3/1-9 FORMAT x' FORMAT RowBinary",
        'INSERT INTO d.points (tenant, series_id, ts, value)',
      ],
      // Quoted names with parentheses, quotes and the clause words inside them.
      [
        'INSERT INTO `my db`.`t)(` (`a) SETTINGS (`, `b\\`c`) FORMAT RowBinary',
        'INSERT INTO `my db`.`t)(` (`a) SETTINGS (`, `b\\`c`)',
      ],
      ['INSERT INTO d.t (* EXCEPT v) FORMAT RowBinary', 'INSERT INTO d.t (* EXCEPT v)'],
    ]
    for (const [rendered, before] of cases)
      expect(infileSplit(rendered), rendered).toEqual({ before, after: rendered.slice(before.length) })
  })

  it('finds no place in any other shape of INSERT', () => {
    for (const rendered of [
      "INSERT INTO FUNCTION file('x', 'RowBinary', 'a UInt8') FORMAT RowBinary",
      "INSERT INTO d.t FROM INFILE '/etc/hostname' FORMAT RowBinary",
      'INSERT INTO {t:Identifier} FORMAT RowBinary',
      'INSERT INTO d.t SELECT 1 FORMAT RowBinary',
      'INSERT INTO d.t (a, b FORMAT RowBinary',
      "INSERT INTO d.t (a, 'b) FORMAT RowBinary",
      'SELECT 1 FORMAT RowBinary',
    ])
      expect(infileSplit(rendered), rendered).toBeUndefined()
  })

  it('names the file as a string literal, compression never guessed from its name', () => {
    expect(infileClause("/tmp/a'b\\c.gz")).toBe(" FROM INFILE '/tmp/a\\'b\\\\c.gz' COMPRESSION 'none'")
  })

  it('knows the binary formats whatever their case, and no text one', () => {
    for (const f of [
      'RowBinary',
      'rowbinary',
      'Native',
      'RowBinaryWithNamesAndTypes',
      'ArrowStream',
      'Parquet',
    ])
      expect(isBinaryFormat(f), f).toBe(true)
    for (const f of ['TSV', 'CSV', 'JSONEachRow', 'JSONCompactEachRow', 'Values', 'TabSeparated'])
      expect(isBinaryFormat(f), f).toBe(false)
  })
})

describe('BodySpool', () => {
  let parent: string
  let spool: BodySpool

  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'procstream-spool-test-'))
    spool = new BodySpool(parent)
  })

  afterEach(() => {
    spool.close()
    rmSync(parent, { recursive: true, force: true })
  })

  it('keeps a body in a private file of a private folder while it is used, and removes it after', async () => {
    expect(statSync(spool.dir).mode & 0o777).toBe(0o700)
    const body = Buffer.from([0x0a, 0x0a, 0x00, 0xff])
    let seen: string | undefined
    const answer = await spool.withFile(body, (path) => {
      seen = path
      expect(statSync(path).mode & 0o777).toBe(0o600)
      expect(readFileSync(path).equals(body)).toBe(true)
      return Promise.resolve(42)
    })
    expect(answer).toBe(42)
    expect(seen?.startsWith(`${spool.dir}/`)).toBe(true)
    expect(readdirSync(spool.dir)).toEqual([])
  })

  it('removes the file when its statement fails', async () => {
    let seen = ''
    const failure = spool.withFile(Buffer.from('x'), (path) => {
      seen = path
      return Promise.reject(new Error('the engine refused'))
    })
    await expect(failure).rejects.toThrow('the engine refused')
    expect(seen).not.toBe('')
    expect(existsSync(seen)).toBe(false)
    expect(readdirSync(spool.dir)).toEqual([])
  })

  it('goes with its folder on close', () => {
    const dir = spool.dir
    spool.close()
    expect(existsSync(dir)).toBe(false)
  })

  it('refuses a temporary folder whose path the engine would read as a glob', () => {
    expect(() => new BodySpool(join(parent, 'a*b'))).toThrow(ConfigError)
    expect(() => new BodySpool(join(parent, 'x{1,2}'))).toThrow(/characters other than letters/)
  })
})

describe('bodyError', () => {
  it('speaks of the request body, not of the server’s file, keeping the engine’s code', () => {
    const path = '/tmp/procstream-storage-bodies-x/ab12.bin'
    const engine = Object.assign(
      new Error(
        `Code: 33. DB::Exception: Cannot read all data. Bytes read: 5. Bytes expected: 8: (at row 1)\n: (in file/uri ${path}): While executing File: data for INSERT was parsed from file. (CANNOT_READ_ALL_DATA)`,
      ),
      { clickhouseCode: 33 },
    )
    const err = bodyError(engine, path, 'RowBinary')
    expect(err).toBeInstanceOf(EngineError)
    expect(err).toMatchObject({ clickhouseCode: 33 })
    const message = (err as Error).message
    expect(message).not.toContain(path)
    expect(message).toContain('(in the RowBinary request body)')
    expect(message).toContain(
      'data for INSERT was read from the RowBinary request body. (CANNOT_READ_ALL_DATA)',
    )
    const other = new Error('not the engine')
    expect(bodyError(other, path, 'RowBinary')).toBe(other)
  })
})
