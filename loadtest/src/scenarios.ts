import { ConfigError } from '#platform/errors.ts'

/**
 * The named load shapes: hosts × sampling interval × duration, and for `spike` a window in which every
 * host samples ten times as often (agents switched to 10 Hz on demand, as an incident would). Each
 * figure can be overridden by a flag; the values are checked before any load starts.
 */
export interface Scenario {
  name: string
  hosts: number
  intervalMs: number
  durationS: number
  /** From `atS` for `forS` seconds, hosts sample at intervalMs / factor. */
  spike?: { atS: number; forS: number; factor: number }
  description: string
}

export const SCENARIOS: Record<string, Scenario> = {
  smoke: {
    name: 'smoke',
    hosts: 20,
    intervalMs: 1000,
    durationS: 15,
    description: 'CI: proves the audit, not the speed',
  },
  light: { name: 'light', hosts: 100, intervalMs: 1000, durationS: 60, description: 'a small fleet at 1 s' },
  medium: {
    name: 'medium',
    hosts: 300,
    intervalMs: 1000,
    durationS: 120,
    description: 'a department at 1 s',
  },
  heavy: {
    name: 'heavy',
    hosts: 1000,
    intervalMs: 1000,
    durationS: 300,
    description: 'sustained, near the measured ceiling',
  },
  stress: {
    name: 'stress',
    hosts: 4000,
    intervalMs: 1000,
    durationS: 300,
    description: 'past the ceiling: where it breaks, how it recovers',
  },
  spike: {
    name: 'spike',
    hosts: 200,
    intervalMs: 1000,
    durationS: 90,
    spike: { atS: 30, forS: 30, factor: 10 },
    description: 'every host at 10 Hz for 30 s in the middle',
  },
  soak: {
    name: 'soak',
    hosts: 300,
    intervalMs: 1000,
    durationS: 3600,
    description: 'an hour at a steady rate',
  },
}

export interface RunOptions extends Scenario {
  out: string
  baseline: string | undefined
  /** Kafka brokers to use; undefined starts a local broker for the run. */
  brokers: string[] | undefined
  partitions: number
  tenant: string
}

const LIMITS = {
  hosts: [1, 200_000],
  intervalMs: [10, 60_000],
  durationS: [1, 7 * 86_400],
  partitions: [1, 1024],
} as const

function whole(
  name: keyof typeof LIMITS,
  text: string | undefined,
  fallback: number,
  problems: string[],
): number {
  if (text === undefined) return fallback
  const [min, max] = LIMITS[name]
  const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
  if (!/^\d+$/.test(text)) {
    problems.push(
      `${flag} must be a whole number from ${String(min)} to ${String(max)}, got ${JSON.stringify(text)}`,
    )
    return fallback
  }
  const n = Number(text)
  if (n < min || n > max) problems.push(`${flag} must be from ${String(min)} to ${String(max)}, got ${text}`)
  return n
}

/** Every problem at once, with what is valid, before anything starts. */
export function resolveOptions(flags: Record<string, string | undefined>): RunOptions {
  const problems: string[] = []
  const name = flags.scenario ?? 'smoke'
  const base = SCENARIOS[name]
  if (!base) {
    throw new ConfigError([
      `unknown scenario ${JSON.stringify(name)}; valid: ${Object.values(SCENARIOS)
        .map(
          (s) =>
            `${s.name} (${String(s.hosts)} hosts × ${String(s.intervalMs)} ms × ${String(s.durationS)} s)`,
        )
        .join(', ')}`,
    ])
  }
  const out = flags.out
  if (out === undefined || out === '')
    problems.push('--out DIR is required: where report.json, report.md and report.html go')
  const hosts = whole('hosts', flags.hosts, base.hosts, problems)
  const intervalMs = whole('intervalMs', flags['interval-ms'], base.intervalMs, problems)
  const durationS = whole('durationS', flags['duration-s'], base.durationS, problems)
  const partitions = whole('partitions', flags.partitions, 6, problems)
  const tenant = flags.tenant ?? 'loadtest'
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(tenant))
    problems.push(`--tenant ${JSON.stringify(tenant)} is not a tenant name (a-z, 0-9, -)`)
  let brokers: string[] | undefined
  if (flags.brokers !== undefined) {
    brokers = flags.brokers.split(',').filter((b) => b !== '')
    const bad = brokers.find((b) => !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(b))
    if (brokers.length === 0 || bad !== undefined)
      problems.push(`--brokers must be host:port[,host:port…], got ${JSON.stringify(flags.brokers)}`)
  }
  const valuesPerS = (hosts * 1000) / intervalMs
  // A host-tick is ~10 records; past 2 M records/s one simulator process cannot encode, say so now.
  if (valuesPerS > 200_000)
    problems.push(
      `${String(hosts)} hosts every ${String(intervalMs)} ms is ${String(Math.round(valuesPerS))} host-ticks/s; at most 200,000 are simulated`,
    )
  if (problems.length > 0) throw new ConfigError(problems)
  return {
    ...base,
    hosts,
    intervalMs,
    durationS,
    ...(base.spike && {
      spike: { ...base.spike, atS: Math.min(base.spike.atS, durationS), forS: base.spike.forS },
    }),
    out: out as string,
    baseline: flags.baseline,
    brokers,
    partitions,
    tenant,
  }
}
