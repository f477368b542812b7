import type { LoadSample } from '#schemas/src/records.ts'
import { excerpt, parseDecimal, parseInteger, tokenize, type ProblemHandler } from './parse-util.ts'

/**
 * /proc/loadavg (`0.19 0.23 0.10 1/85 4853`) → LoadSample. A field that cannot be read stays 0 and
 * is reported; the others keep what parsed.
 */
export function parseLoadavg(text: string, onError?: ProblemHandler): LoadSample {
  const sample: LoadSample = {
    load1: 0,
    load5: 0,
    load15: 0,
    threads_running: 0,
    threads_total: 0,
    last_pid: 0,
  }
  const fields = tokenize(text)
  if (fields.length === 0) {
    onError?.('/proc/loadavg: empty input')
    return sample
  }
  const report = (what: string): void =>
    onError?.(`/proc/loadavg: unreadable ${what} in ${excerpt(text.trim())}`)

  const load1 = parseDecimal(fields[0] ?? '')
  const load5 = parseDecimal(fields[1] ?? '')
  const load15 = parseDecimal(fields[2] ?? '')
  if (load1 === undefined) report('load1')
  else sample.load1 = load1
  if (load5 === undefined) report('load5')
  else sample.load5 = load5
  if (load15 === undefined) report('load15')
  else sample.load15 = load15

  const [running, total, extra] = (fields[3] ?? '').split('/')
  const threadsRunning = parseInteger(running ?? '')
  const threadsTotal = parseInteger(total ?? '')
  if (threadsRunning === undefined || threadsTotal === undefined || extra !== undefined) {
    report('running/total threads')
  } else {
    sample.threads_running = threadsRunning
    sample.threads_total = threadsTotal
  }

  const lastPid = parseInteger(fields[4] ?? '')
  if (lastPid === undefined) report('last pid')
  else sample.last_pid = lastPid
  return sample
}
