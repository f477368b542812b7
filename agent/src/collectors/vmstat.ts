import type { VmstatSample } from '../../../schemas/src/records.ts'
import { DEFAULT_VMSTAT_FIELDS } from '../../../schemas/src/node-exporter.ts'
import { excerpt, forEachLine, isBlank, parseInteger, tokenize, type ProblemHandler } from './parse-util.ts'

/**
 * /proc/vmstat (`name value` per line) → VmstatSample: the fields whose name matches `keep`
 * (node_exporter's default set unless told otherwise: the other ~170 fields would cost parsing,
 * bytes and storage on every tick for series nobody charts), under the kernel's name, value as
 * printed. A line that is not exactly a name and an integer is left out and reported, kept or not.
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
    const tokens = tokenize(text, start, end)
    const name = tokens[0]
    const value = tokens[1] === undefined ? undefined : parseInteger(tokens[1])
    if (name === undefined || value === undefined || tokens.length !== 2) {
      onError?.(`/proc/vmstat: unreadable line ${excerpt(text.slice(start, end))}`)
      return
    }
    count++
    if (keep.test(name)) fields[name] = value
  })
  if (count === 0) onError?.('/proc/vmstat: no fields')
  return { fields }
}
