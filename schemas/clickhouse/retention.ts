import type { ConfigReader, IntSetting } from '#platform/config.ts'
import { ADMISSION_SETTINGS, readRawTtlDays } from '../src/admission.ts'

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

/** The tiers' settings (platform/config.ts); RAW_TTL_DAYS is declared with the admission bounds. */
export const RETENTION_SETTINGS = {
  raw: ADMISSION_SETTINGS.rawTtlDays,
  tier10s: {
    env: 'ROLLUP_10S_TTL_DAYS',
    type: 'int',
    default: 30,
    min: 1,
    max: 3650,
    meaning: 'retention of the 10 s tier, in days',
  },
  tier1m: {
    env: 'ROLLUP_1M_TTL_DAYS',
    type: 'int',
    default: 365,
    min: 1,
    max: 3650,
    meaning: 'retention of the 1 min tier, in days',
  },
  tier1h: {
    env: 'ROLLUP_1H_TTL_DAYS',
    type: 'int',
    default: 1825,
    min: 1,
    max: 3650,
    meaning: 'retention of the 1 h tier, in days',
  },
} as const satisfies Record<string, IntSetting>

/**
 * How many days each resolution is kept. Readers pick the coarsest tier that still has enough points,
 * so a coarser tier must keep at least as long as the finer one or old ranges would have no tier to
 * answer them: a default follows a longer finer setting up (RAW_TTL_DAYS=60 alone keeps 10 s rollups
 * 60 days too), a value set shorter than the finer one is a problem. 3650 days at most because the
 * TTL is DateTime arithmetic, which wraps after 2106.
 */
export function readRetention(r: ConfigReader): Retention {
  const S = RETENTION_SETTINGS
  const rawTtlDays = readRawTtlDays(r)
  const tier10sTtlDays = coarser(r, S.tier10s, S.raw.env, rawTtlDays)
  const tier1mTtlDays = coarser(r, S.tier1m, S.tier10s.env, tier10sTtlDays)
  const tier1hTtlDays = coarser(r, S.tier1h, S.tier1m.env, tier1mTtlDays)
  return { rawTtlDays, tier10sTtlDays, tier1mTtlDays, tier1hTtlDays }
}

function coarser(r: ConfigReader, setting: IntSetting, finerName: string, finer: number): number {
  const days = r.int({ ...setting, default: Math.max(setting.default, finer) })
  if (days < finer) r.problem(`${setting.env}=${days} is shorter than ${finerName}=${finer}`)
  return days
}
