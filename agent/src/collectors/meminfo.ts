import type { MemorySample } from '#schemas/src/records.ts'
import {
  excerpt,
  forEachLine,
  indexIn,
  isBlank,
  parseInteger,
  tokenize,
  type ProblemHandler,
} from './parse-util.ts'

const KIB = 1024

/**
 * /proc/meminfo → MemorySample: every field under the kernel's own name (`Active(anon)` stays
 * `Active(anon)`), `kB` values in bytes, unit-less values (HugePages_*) as they are. A line that
 * cannot be read is left out and reported.
 */
export function parseMeminfo(text: string, onError?: ProblemHandler): MemorySample {
  const fields: Record<string, number> = {}
  let count = 0
  forEachLine(text, (start, end) => {
    const colon = indexIn(text, ':', start, end)
    if (colon === -1) {
      // Some CentOS 6 kernels print blank lines here; node_exporter skips them too.
      if (!isBlank(text, start, end)) onError?.(`/proc/meminfo: no ':' in ${excerpt(text.slice(start, end))}`)
      return
    }
    const name = text.slice(start, colon)
    const rest = tokenize(text, colon + 1, end)
    const value = rest[0] === undefined ? undefined : parseInteger(rest[0])
    if (name === '' || /\s/.test(name) || value === undefined || rest.length > 2) {
      onError?.(`/proc/meminfo: unreadable line ${excerpt(text.slice(start, end))}`)
      return
    }
    if (rest.length === 1) {
      fields[name] = value
    } else if (rest[1] === 'kB' && Number.isSafeInteger(value * KIB)) {
      fields[name] = value * KIB
    } else {
      onError?.(
        `/proc/meminfo: unit other than kB, or value too large, in ${excerpt(text.slice(start, end))}`,
      )
      return
    }
    count++
  })
  if (count === 0) onError?.('/proc/meminfo: no fields')
  return { fields }
}
