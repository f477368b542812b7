import type { VmstatSample } from '#schemas/src/records.ts'
import { DEFAULT_VMSTAT_FIELDS } from '#schemas/src/node-exporter.ts'
import {
  excerpt,
  forEachLine,
  isBlank,
  parseInteger,
  tokenEnd,
  tokenize,
  type ProblemHandler,
} from './parse-util.ts'

/**
 * The kernel prints the same ~190 names on every read: remember each name's verdict per pattern
 * rather than running the pattern (which backtracks on every `pg…` name) ten times a second.
 */
const verdicts = new WeakMap<RegExp, Map<string, boolean>>()

function kept(keep: RegExp, name: string): boolean {
  let known = verdicts.get(keep)
  if (known === undefined) verdicts.set(keep, (known = new Map<string, boolean>()))
  let verdict = known.get(name)
  if (verdict === undefined) {
    verdict = keep.test(name)
    // A kernel has a fixed set of names; the bound only guards against garbage input growing the map.
    if (known.size < 4096) known.set(name, verdict)
  }
  return verdict
}

/**
 * /proc/vmstat (`name value` per line) → VmstatSample: the fields whose name matches `keep`
 * (node_exporter's default set unless told otherwise: the other ~170 fields would cost parsing,
 * bytes and storage on every tick for series nobody charts), under the kernel's name, value as
 * printed. Only kept lines are parsed beyond their name; one that is not exactly a name and an
 * integer is left out and reported.
 */
export function parseVmstat(
  text: string,
  onError?: ProblemHandler,
  keep: RegExp = DEFAULT_VMSTAT_FIELDS,
): VmstatSample {
  const fields: Record<string, number> = {}
  let count = 0
  forEachLine(text, (start, end) => {
    if (isBlank(text, start, end)) return
    count++
    const nameEnd = tokenEnd(text, start, end)
    if (!kept(keep, text.slice(start, nameEnd).trimStart())) return
    const tokens = tokenize(text, start, end)
    const name = tokens[0]
    const value = tokens[1] === undefined ? undefined : parseInteger(tokens[1])
    if (name === undefined || value === undefined || tokens.length !== 2) {
      onError?.(`/proc/vmstat: unreadable line ${excerpt(text.slice(start, end))}`)
      return
    }
    fields[name] = value
  })
  if (count === 0) onError?.('/proc/vmstat: no fields')
  else if (Object.keys(fields).length === 0) onError?.(`/proc/vmstat: no field matches ${String(keep)}`)
  return { fields }
}
