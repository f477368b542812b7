import type { PressureSample, PsiLine, PsiResource } from '#schemas/src/records.ts'
import {
  excerpt,
  forEachLine,
  isBlank,
  parseDecimal,
  parseInteger,
  tokenize,
  type ProblemHandler,
} from './parse-util.ts'

/** The three files of /proc/pressure every PSI kernel has; irq (Linux 6.1+) is read beside them when present. */
export const PSI_RESOURCES = ['cpu', 'memory', 'io'] as const
export type PsiResourceName = (typeof PSI_RESOURCES)[number]

const AVERAGES = ['avg10', 'avg60', 'avg300'] as const

function zeroLine(): PsiLine {
  return { avg10: 0, avg60: 0, avg300: 0, total_us: 0 }
}

/**
 * One /proc/pressure file (`some avg10=0.10 avg60=2.00 avg300=3.85 total=15`, then a `full` line)
 * → PsiResource. A missing `full` line is null, as on the cpu file of kernels before 5.13; a
 * missing or unreadable `some` line stays all zero and is reported, as is any line that does not
 * parse. Lines of a kind the kernel may add later are ignored.
 */
export function parsePsiResource(
  text: string,
  resource: string,
  onError?: ProblemHandler,
  /** irq has only a `full` line: its `some` is all zero and not reported missing. */
  someExpected = true,
): PsiResource {
  let some: PsiLine | undefined
  let full: PsiLine | null = null
  const where = `/proc/pressure/${resource}`
  forEachLine(text, (start, end) => {
    if (isBlank(text, start, end)) return
    const tokens = tokenize(text, start, end)
    const kind = tokens[0]
    if (kind !== 'some' && kind !== 'full') return
    const line = parsePsiLine(tokens)
    if (line === undefined) {
      onError?.(`${where}: unreadable line ${excerpt(text.slice(start, end))}`)
      return
    }
    if (kind === 'some') some = line
    else full = line
  })
  if (some === undefined && someExpected) onError?.(`${where}: no readable 'some' line`)
  return { some: some ?? zeroLine(), full }
}

function parsePsiLine(tokens: readonly string[]): PsiLine | undefined {
  const line = zeroLine()
  const seen = new Set<string>()
  for (const token of tokens.slice(1)) {
    const eq = token.indexOf('=')
    const key = token.slice(0, eq)
    const raw = token.slice(eq + 1)
    if (eq <= 0 || seen.has(key)) return undefined
    seen.add(key)
    if (key === 'total') {
      const total = parseInteger(raw)
      if (total === undefined || total < 0) return undefined
      line.total_us = total
    } else if ((AVERAGES as readonly string[]).includes(key)) {
      const avg = parseDecimal(raw)
      if (avg === undefined) return undefined
      line[key as (typeof AVERAGES)[number]] = avg
    }
  }
  return AVERAGES.every((a) => seen.has(a)) && seen.has('total') ? line : undefined
}

/** The three files' texts, and irq's where the kernel has it → PressureSample. */
export function parsePressure(
  texts: Readonly<Record<PsiResourceName, string>> & { readonly irq?: string | undefined },
  onError?: ProblemHandler,
): PressureSample {
  return {
    cpu: parsePsiResource(texts.cpu, 'cpu', onError),
    memory: parsePsiResource(texts.memory, 'memory', onError),
    io: parsePsiResource(texts.io, 'io', onError),
    irq: texts.irq === undefined ? null : parsePsiResource(texts.irq, 'irq', onError, false),
  }
}
