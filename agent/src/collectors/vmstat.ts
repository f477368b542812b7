import type { VmstatSample } from '../../../schemas/src/records.ts'
import { excerpt, forEachLine, isBlank, parseInteger, tokenize, type ProblemHandler } from './parse-util.ts'

/**
 * /proc/vmstat (`name value` per line) → VmstatSample: every field under the kernel's name, value
 * as printed. A line that is not exactly a name and an integer is left out and reported.
 */
export function parseVmstat(text: string, onError?: ProblemHandler): VmstatSample {
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
    fields[name] = value
    count++
  })
  if (count === 0) onError?.('/proc/vmstat: no fields')
  return { fields }
}
