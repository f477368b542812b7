import { excerpt } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'

/** Where os-release(5) may be, in the order node_exporter tries them. */
const RELEASE_FILES = ['etc/os-release', 'usr/lib/os-release']

/** The major.minor prefix of VERSION_ID node_exporter turns into node_os_version. */
const MAJOR_MINOR = /^[0-9]+\.?[0-9]*/
/** SUPPORT_END, parsed as Go's time.DateOnly layout. */
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/

/**
 * os-release(5) under --path.rootfs, as node_exporter's os collector reports it: the identifying
 * fields as labels of node_os_info, VERSION_ID's major.minor as node_os_version, SUPPORT_END as a
 * timestamp.
 */
export const os: NodeCollector = {
  name: 'os',
  description: 'operating system name and version (/etc/os-release)',
  defaultEnabled: true,
  open: (ctx) => {
    const root = ctx.paths.rootfs === '' ? '/' : ctx.paths.rootfs
    const read = (): { path: string; text: string } | undefined => {
      for (const file of RELEASE_FILES) {
        const path = join(root, file)
        try {
          return { path, text: ctx.fs.readText(path) }
        } catch (err) {
          if (!isAbsent(err)) throw err
        }
      }
      return undefined
    }
    return {
      collect: (emit) => {
        const file = read()
        if (!file) return 'absent'
        const env = parseOsRelease(file.text, (line, why) => {
          ctx.problem(`${file.path}: ${why} in ${excerpt(line)}`)
        })
        const field = (key: string): string => env.get(key) ?? ''
        emit(
          'node_os_info',
          {
            build_id: field('BUILD_ID'),
            id: field('ID'),
            id_like: field('ID_LIKE'),
            image_id: field('IMAGE_ID'),
            image_version: field('IMAGE_VERSION'),
            name: field('NAME'),
            pretty_name: field('PRETTY_NAME'),
            variant: field('VARIANT'),
            variant_id: field('VARIANT_ID'),
            version: field('VERSION'),
            version_codename: field('VERSION_CODENAME'),
            version_id: field('VERSION_ID'),
          },
          1,
        )
        const majorMinor = MAJOR_MINOR.exec(field('VERSION_ID'))?.[0]
        const version = majorMinor === undefined ? 0 : Number(majorMinor)
        if (version > 0) {
          emit(
            'node_os_version',
            { id: field('ID'), id_like: field('ID_LIKE'), name: field('NAME') },
            version,
          )
        }
        const supportEnd = field('SUPPORT_END')
        if (supportEnd !== '') {
          const seconds = dateOnlySeconds(supportEnd)
          if (seconds === undefined)
            ctx.problem(`${file.path}: SUPPORT_END ${excerpt(supportEnd)} is not a date`)
          else emit('node_os_support_end_timestamp_seconds', {}, seconds)
        }
      },
    }
  },
}

/**
 * KEY=value lines as node_exporter reads them (hashicorp/go-envparse): an optional `export ` prefix,
 * double quotes with \\ \" \n \t escapes, single quotes taken literally, an unquoted `#` starting a
 * comment. A line that does not parse is reported and skipped (node_exporter drops the whole file).
 */
export function parseOsRelease(
  text: string,
  problem: (line: string, why: string) => void,
): Map<string, string> {
  const env = new Map<string, string>()
  for (const line of text.split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq === -1) {
      problem(line, 'no "="')
      continue
    }
    let key = line.slice(0, eq).trim()
    if (key.startsWith('export ')) key = key.slice('export '.length)
    if (!/^[A-Za-z_]/.test(key)) {
      problem(line, 'a key must start with a letter or "_"')
      continue
    }
    const value = unquote(line.slice(eq + 1).trim())
    if (value.error !== undefined) problem(line, value.error)
    else env.set(key, value.value)
  }
  return env
}

type Unquoted = { value: string; error?: undefined } | { value?: undefined; error: string }

function unquote(raw: string): Unquoted {
  let out = ''
  // Length of `out` up to its last significant character: unquoted blanks before a comment are dropped.
  let significant = 0
  let mode: 'plain' | 'double' | 'single' | 'escape' = 'plain'
  for (const c of raw) {
    if (c < ' ') return { error: `control character ${JSON.stringify(c)}` }
    if (c > '\x7f') {
      if (mode === 'escape') return { error: 'non-ASCII character in an escape sequence' }
      out += c
      significant = out.length
      continue
    }
    switch (mode) {
      case 'plain':
        if (c === '"') mode = 'double'
        else if (c === "'") mode = 'single'
        else if (c === '#') return { value: out.slice(0, significant) }
        else {
          out += c
          if (c !== ' ') significant = out.length
        }
        break
      case 'double':
        if (c === '"') mode = 'plain'
        else if (c === '\\') mode = 'escape'
        else {
          out += c
          significant = out.length
        }
        break
      case 'escape': {
        const escaped = ESCAPES[c]
        if (escaped === undefined) return { error: `invalid escape sequence \\${c}` }
        out += escaped
        significant = out.length
        mode = 'double'
        break
      }
      case 'single':
        if (c === "'") mode = 'plain'
        else {
          out += c
          significant = out.length
        }
        break
    }
  }
  if (mode === 'plain') return { value: out }
  return {
    error:
      mode === 'single' ? "unmatched '" : mode === 'double' ? 'unmatched "' : 'incomplete escape sequence',
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', n: '\n', t: '\t' }

/** Seconds since the epoch of a YYYY-MM-DD date at 00:00 UTC, or undefined when it is no real date. */
function dateOnlySeconds(text: string): number | undefined {
  const m = DATE_ONLY.exec(text)
  if (!m) return undefined
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  // setUTCFullYear, unlike Date.UTC, keeps years below 100 as they are.
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  // A day past the month's end rolls over into the next month; Go's time.Parse refuses it.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day)
    return undefined
  return date.getTime() / 1000
}
