import type { CpuSample, CpuTimes } from '#schemas/src/records.ts'
import { excerpt, forEachLine, parseInteger, tokenEnd, tokenize, type ProblemHandler } from './parse-util.ts'

/** The cpu columns of /proc/stat in the kernel's order; older kernels print only a prefix. */
const CPU_COLUMNS = [
  'user',
  'nice',
  'system',
  'idle',
  'iowait',
  'irq',
  'softirq',
  'steal',
  'guest',
  'guest_nice',
] as const satisfies readonly (keyof CpuTimes)[]

/** user, nice, system and idle exist in every 2.6+ kernel; fewer means a cut line, not an old kernel. */
const MIN_CPU_COLUMNS = 4

const SCALARS = ['intr', 'ctxt', 'btime', 'processes', 'procs_running', 'procs_blocked'] as const
type Scalar = (typeof SCALARS)[number]
const SCALAR_KEYS: ReadonlySet<string> = new Set(SCALARS)

function isScalar(key: string): key is Scalar {
  return SCALAR_KEYS.has(key)
}

/**
 * /proc/stat → CpuSample. The aggregate `cpu` line becomes cpu -1, each `cpuN` line cpu N, in file
 * order. Modes a kernel does not print are 0. `intr` keeps only its first number (the total).
 * A cpu line that cannot be read is left out; a scalar that cannot be read stays 0. Either is
 * reported through onError.
 */
export function parseStat(text: string, userHz = 100, onError?: ProblemHandler): CpuSample {
  const sample: CpuSample = {
    user_hz: userHz,
    cpus: [],
    intr: 0,
    ctxt: 0,
    btime: 0,
    processes: 0,
    procs_running: 0,
    procs_blocked: 0,
  }
  const seen = new Set<Scalar>()
  let nonBlank = 0
  forEachLine(text, (start, end) => {
    const keyEnd = tokenEnd(text, start, end)
    const key = text.slice(start, keyEnd).trimStart()
    if (key !== '') nonBlank++
    if (key.startsWith('cpu')) {
      const cpu = parseCpuLine(key, tokenize(text, keyEnd, end), () => text.slice(start, end), onError)
      if (cpu !== undefined) sample.cpus.push(cpu)
    } else if (isScalar(key)) {
      // Only the first number: intr goes on with one count per interrupt, thousands on big machines.
      seen.add(key)
      const value = parseInteger(text.slice(keyEnd, tokenEnd(text, keyEnd, end)).trimStart())
      if (value === undefined)
        onError?.(`/proc/stat: unreadable ${key} line ${excerpt(text.slice(start, end))}`)
      else sample[key] = value
    }
  })
  if (nonBlank === 0) {
    onError?.('/proc/stat: empty input')
    return sample
  }
  for (const key of SCALARS) if (!seen.has(key)) onError?.(`/proc/stat: no ${key} line`)
  if (sample.cpus.length === 0) onError?.('/proc/stat: no cpu lines')
  return sample
}

function parseCpuLine(
  key: string,
  values: readonly string[],
  line: () => string,
  onError: ProblemHandler | undefined,
): CpuTimes | undefined {
  const cpu = key === 'cpu' ? -1 : parseInteger(key.slice(3))
  if (cpu === undefined || (cpu < 0 && key !== 'cpu')) {
    onError?.(`/proc/stat: unknown cpu name in ${excerpt(line())}`)
    return undefined
  }
  const columns = Math.min(values.length, CPU_COLUMNS.length)
  if (columns < MIN_CPU_COLUMNS) {
    onError?.(
      `/proc/stat: cpu line with ${columns} columns, need at least ${MIN_CPU_COLUMNS}: ${excerpt(line())}`,
    )
    return undefined
  }
  const times: CpuTimes = {
    cpu,
    user: 0,
    nice: 0,
    system: 0,
    idle: 0,
    iowait: 0,
    irq: 0,
    softirq: 0,
    steal: 0,
    guest: 0,
    guest_nice: 0,
  }
  for (let i = 0; i < columns; i++) {
    const value = parseInteger(values[i] ?? '')
    const mode = CPU_COLUMNS[i]
    if (value === undefined || value < 0 || mode === undefined) {
      // A cpu with one mode zeroed would look like a counter reset downstream: drop the line.
      onError?.(`/proc/stat: non-numeric ${mode ?? 'cpu'} column in ${excerpt(line())}`)
      return undefined
    }
    times[mode] = value
  }
  return times
}
