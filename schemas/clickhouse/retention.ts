import type { ConfigReader } from '#platform/config.ts'
import { readRawTtlDays } from '../src/admission.ts'

/**
 * The retention settings of the schema's tiers, read alike by the processors (which create the tables
 * with these TTLs) and the query API (which must not offer a range no tier still holds).
 */
export interface Retention {
  rawTtlDays: number
  tier10sTtlDays: number
  tier1mTtlDays: number
  tier1hTtlDays: number
}

/**
 * How many days each resolution is kept. Readers pick the coarsest tier that still has enough points,
 * so a coarser tier must keep at least as long as the finer one or old ranges would have no tier to
 * answer them: a default follows a longer finer setting up (RAW_TTL_DAYS=60 alone keeps 10 s rollups
 * 60 days too), a value set shorter than the finer one is a problem. 3650 days at most because the
 * TTL is DateTime arithmetic, which wraps after 2106.
 */
export function readRetention(r: ConfigReader): Retention {
  const rawTtlDays = readRawTtlDays(r)
  const tier10sTtlDays = coarser(r, 'ROLLUP_10S_TTL_DAYS', 30, 'RAW_TTL_DAYS', rawTtlDays)
  const tier1mTtlDays = coarser(r, 'ROLLUP_1M_TTL_DAYS', 365, 'ROLLUP_10S_TTL_DAYS', tier10sTtlDays)
  const tier1hTtlDays = coarser(r, 'ROLLUP_1H_TTL_DAYS', 1825, 'ROLLUP_1M_TTL_DAYS', tier1mTtlDays)
  return { rawTtlDays, tier10sTtlDays, tier1mTtlDays, tier1hTtlDays }
}

/** The reader first, so deploy/__tests__/static.test.ts finds the names among the settings read. */
function coarser(r: ConfigReader, name: string, fallback: number, finerName: string, finer: number): number {
  const days = r.int(name, Math.max(fallback, finer), { min: 1, max: 3650 })
  if (days < finer) r.problem(`${name}=${days} is shorter than ${finerName}=${finer}`)
  return days
}
