import { PromQLError } from './errors.ts'

// Prometheus's model.ParseDuration: each unit at most once, largest first, integers only.
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/
const DAY_MS = 24 * 60 * 60 * 1000
// Prometheus counts a year as 365 days, not a calendar year.
const UNIT_MS = [365 * DAY_MS, 7 * DAY_MS, DAY_MS, 60 * 60 * 1000, 60 * 1000, 1000, 1] as const

// What Go's strconv.ParseFloat accepts, minus Inf/NaN and hex floats, which no client sends as a step.
const SECONDS = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** A Prometheus duration such as `5m`, `1h30m` or `90s`, in milliseconds. */
export function parseDuration(text: string): number {
  // Prometheus accepts a bare zero, and only zero, without a unit.
  if (text === '0') return 0
  const match = DURATION.exec(text)
  if (text === '' || match === null) throw new PromQLError('bad_data', `invalid duration "${text}"`)
  let ms = 0
  UNIT_MS.forEach((unit, i) => {
    const count = match[i + 1]
    if (count !== undefined) ms += Number(count) * unit
  })
  if (!Number.isSafeInteger(ms)) throw new PromQLError('bad_data', `invalid duration "${text}": out of range`)
  return ms
}

/**
 * An HTTP API duration (`step`, `timeout`), which Prometheus takes either as seconds (`15`, `0.5`) or
 * as a duration (`15s`). Milliseconds, rounded to whole ones because timestamps are whole milliseconds
 * and `1.1 * 1000` is not. Zero and negative values are returned as they are, for the caller to judge.
 */
export function parseStepOrDuration(text: string): number {
  if (SECONDS.test(text)) {
    const ms = Math.round(Number(text) * 1000)
    // `-0.0001` rounds to -0, which no caller wants to see.
    if (Number.isSafeInteger(ms)) return ms === 0 ? 0 : ms
    throw new PromQLError('bad_data', `cannot parse "${text}" to a valid duration: out of range`)
  }
  try {
    return parseDuration(text)
  } catch {
    throw new PromQLError('bad_data', `cannot parse "${text}" to a valid duration`)
  }
}
