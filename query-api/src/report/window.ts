import { RETENTION_SETTINGS } from '#schemas/clickhouse/retention.ts'
import { QueryApiError } from '../errors.ts'
import { MAX_RANGE_MS } from '../routes/series.ts'

/** Days each stored resolution is kept (RAW_TTL_DAYS, ROLLUP_10S/1M/1H_TTL_DAYS). */
export interface Retention {
  rawDays: number
  tier10sDays: number
  tier1mDays: number
  tier1hDays: number
}

export const DEFAULT_RETENTION: Retention = {
  rawDays: RETENTION_SETTINGS.raw.default,
  tier10sDays: RETENTION_SETTINGS.tier10s.default,
  tier1mDays: RETENTION_SETTINGS.tier1m.default,
  tier1hDays: RETENTION_SETTINGS.tier1h.default,
}

const DAY_MS = 86_400_000

/** The stored resolutions, finest first: bucket width and how long each is kept. */
function sources(r: Retention): { name: string; setting: string; widthMs: number; days: number }[] {
  return [
    { name: 'raw points', setting: 'RAW_TTL_DAYS', widthMs: 1_000, days: r.rawDays },
    { name: '10 s rollups', setting: 'ROLLUP_10S_TTL_DAYS', widthMs: 10_000, days: r.tier10sDays },
    { name: '1 min rollups', setting: 'ROLLUP_1M_TTL_DAYS', widthMs: 60_000, days: r.tier1mDays },
    { name: '1 h rollups', setting: 'ROLLUP_1H_TTL_DAYS', widthMs: 3_600_000, days: r.tier1hDays },
  ]
}

export interface ReportWindow {
  fromMs: number
  toMs: number
  /**
   * The `points` to ask the readers for: at most `maxPoints`, and few enough that they read a
   * resolution still stored for data as old as the window's start (series-query.ts resolutionFor
   * reads a tier once a step spans four of its buckets).
   */
  points: number
}

/**
 * Checks a report's window before any work starts, and picks how finely to read it. The finest
 * resolution whose retention reaches back to the window's start is read, so a short window from
 * last month reads the 10 s rollups rather than raw points that are gone; a window older than every
 * retention is refused, naming the longest one. A window reaching into the future ends now.
 */
export function planWindow(
  fromMs: number,
  toMs: number,
  opts: { nowMs: number; retention: Retention; maxPoints: number },
): ReportWindow {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs))
    throw new QueryApiError('BAD_REQUEST', 'from and to must be times')
  if (fromMs > toMs) throw new QueryApiError('BAD_REQUEST', 'the window is reversed: from is after to')
  if (fromMs === toMs) throw new QueryApiError('BAD_REQUEST', 'the window is empty: from equals to')
  if (fromMs >= opts.nowMs) throw new QueryApiError('BAD_REQUEST', 'the window starts in the future')
  const end = Math.min(toMs, opts.nowMs)
  if (end - fromMs > MAX_RANGE_MS)
    throw new QueryApiError('BAD_REQUEST', 'the window is too long: a report spans at most 400 days')
  const ageMs = opts.nowMs - fromMs
  const all = sources(opts.retention)
  const source = all.find((s) => s.days * DAY_MS >= ageMs)
  if (source === undefined) {
    const longest = all[all.length - 1] as (typeof all)[number]
    throw new QueryApiError(
      'BAD_REQUEST',
      `the window starts ${Math.floor(ageMs / DAY_MS)} days ago, past the retention of the oldest data kept (${longest.name}: ${longest.days} days, ${longest.setting})`,
    )
  }
  const windowMs = end - fromMs
  let points = opts.maxPoints
  if (source.widthMs > 1_000) {
    const most = Math.floor(windowMs / (4 * source.widthMs))
    if (most < 1)
      throw new QueryApiError(
        'BAD_REQUEST',
        `the window is too short for data this old: only ${source.name} are kept from then, so it must span at least ${String((4 * source.widthMs) / 1000)} s`,
      )
    points = Math.min(points, most)
  }
  return { fromMs, toMs: end, points }
}
