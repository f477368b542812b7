/**
 * A bounded reader of Prometheus text exposition format 0.0.4, for what one component reads from
 * another's /metrics (the query API's pipeline view). The input is another process's answer: it is
 * checked line by line and every limit is enforced before work is done, so a huge or garbled page
 * costs a bounded amount and ends in one ExpositionError naming the first problem.
 */

export interface ParsedSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface ParsedExposition {
  readonly samples: readonly ParsedSample[]
  /** `# TYPE` lines, by metric family name. */
  readonly types: ReadonlyMap<string, string>
}

export interface ExpositionLimits {
  /** Characters of the whole page. */
  maxChars: number
  /** Sample lines. */
  maxSamples: number
  /** Characters of one line. */
  maxLineChars: number
  /** Labels of one sample. */
  maxLabels: number
}

export const DEFAULT_EXPOSITION_LIMITS: ExpositionLimits = Object.freeze({
  maxChars: 4 * 1024 * 1024,
  maxSamples: 50_000,
  maxLineChars: 16 * 1024,
  maxLabels: 32,
})

export class ExpositionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExpositionError'
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

export function parseExposition(
  text: string,
  limits: ExpositionLimits = DEFAULT_EXPOSITION_LIMITS,
): ParsedExposition {
  if (text.length > limits.maxChars)
    throw new ExpositionError(`the page is over ${String(limits.maxChars)} characters`)
  const samples: ParsedSample[] = []
  const types = new Map<string, string>()
  let lineNo = 0
  let start = 0
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    lineNo++
    const line = text.slice(start, end).replace(/\r$/, '')
    start = end + 1
    if (line.length > limits.maxLineChars)
      throw new ExpositionError(`line ${String(lineNo)} is over ${String(limits.maxLineChars)} characters`)
    const trimmed = line.trim()
    if (trimmed === '') continue
    if (trimmed.startsWith('#')) {
      const type = /^#\s*TYPE\s+(\S+)\s+(\S+)\s*$/.exec(trimmed)
      if (type?.[1] !== undefined && type[2] !== undefined) {
        if (!TYPES.has(type[2])) throw new ExpositionError(`line ${String(lineNo)}: unknown type ${type[2]}`)
        types.set(type[1], type[2])
      }
      continue
    }
    if (samples.length >= limits.maxSamples)
      throw new ExpositionError(`the page has more than ${String(limits.maxSamples)} samples`)
    samples.push(parseSampleLine(trimmed, lineNo, limits.maxLabels))
  }
  return { samples, types }
}

function parseSampleLine(line: string, lineNo: number, maxLabels: number): ParsedSample {
  const bad = (what: string): ExpositionError => new ExpositionError(`line ${String(lineNo)}: ${what}`)
  const fail = (what: string): never => {
    throw bad(what)
  }
  const name = METRIC_NAME.exec(line)?.[0] ?? fail('no metric name')
  let i = name.length
  const labels: Record<string, string> = {}
  if (line[i] === '{') {
    i++
    let count = 0
    for (;;) {
      while (line[i] === ' ') i++
      if (line[i] === '}') {
        i++
        break
      }
      const labelName = LABEL_NAME.exec(line.slice(i, i + 256))?.[0] ?? fail('bad label name')
      i += labelName.length
      if (line[i] !== '=' || line[i + 1] !== '"') throw bad(`label ${labelName} has no quoted value`)
      i += 2
      let value = ''
      for (;;) {
        const c = line[i]
        if (c === undefined) throw bad('unterminated label value')
        if (c === '"') break
        if (c === '\\') {
          const next = line[i + 1]
          if (next === 'n') value += '\n'
          else if (next === '\\' || next === '"') value += next
          else throw bad('bad escape in a label value')
          i += 2
          continue
        }
        value += c
        i++
      }
      i++
      if (Object.hasOwn(labels, labelName)) throw bad(`label ${labelName} given twice`)
      if (++count > maxLabels) throw bad(`more than ${String(maxLabels)} labels`)
      labels[labelName] = value
      while (line[i] === ' ') i++
      if (line[i] === ',') i++
      else if (line[i] !== '}') throw bad('expected , or } after a label')
    }
  }
  const rest = line.slice(i)
  if (!/^[ \t]/.test(rest)) throw bad('no value after the series')
  const fields = rest.trim().split(/[ \t]+/)
  if (fields.length > 2) throw bad('too many fields')
  const value = parseValue(fields[0] ?? '')
  if (value === undefined) throw bad(`bad value ${JSON.stringify((fields[0] ?? '').slice(0, 32))}`)
  if (fields[1] !== undefined && !/^-?\d{1,20}$/.test(fields[1])) throw bad('bad timestamp')
  return { name, labels, value }
}

function parseValue(text: string): number | undefined {
  if (text === 'NaN') return Number.NaN
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined
  return Number(text)
}

/** The samples of one name whose labels include every label of `match`. */
export function samplesOf(
  page: ParsedExposition,
  name: string,
  match: Readonly<Record<string, string>> = {},
): ParsedSample[] {
  return page.samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  )
}

/** The sum of the matching samples, or undefined when there are none. */
export function sumOf(
  page: ParsedExposition,
  name: string,
  match: Readonly<Record<string, string>> = {},
): number | undefined {
  const found = samplesOf(page, name, match)
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0)
}

/**
 * Quantile q of a histogram from its cumulative `_bucket` series, interpolated linearly inside the
 * bucket as Prometheus's histogram_quantile does; undefined without observations. Past the last
 * finite bound it answers that bound, as Prometheus does.
 */
export function histogramQuantile(
  q: number,
  buckets: readonly { le: number; count: number }[],
): number | undefined {
  const sorted = [...buckets].filter((b) => !Number.isNaN(b.le)).sort((a, b) => a.le - b.le)
  const total = sorted.at(-1)
  if (total === undefined || total.le !== Number.POSITIVE_INFINITY || total.count <= 0) return undefined
  const rank = q * total.count
  let prevLe = 0
  let prevCount = 0
  for (const b of sorted) {
    if (b.count >= rank) {
      if (b.le === Number.POSITIVE_INFINITY) return prevLe
      if (b.count === prevCount) return b.le
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / (b.count - prevCount)
    }
    prevLe = b.le
    prevCount = b.count
  }
  return prevLe
}
