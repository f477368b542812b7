/**
 * Agent cost per collection, measured (not asserted): for each family, read + parse of this host's
 * /proc; then a full snapshot of every family read, parsed and Avro-encoded. Medians and p99 over
 * many iterations after a warm-up, in microseconds. benchDefaultEntries: every default entry, node
 * collectors included, as one tick runs them.
 */
import { envelopeCodec } from '#schemas/src/codec.ts'
import { PROC_FAMILIES } from '#schemas/src/families.ts'
import { envelopeOf, type SampleOrigin } from '../agent/src/envelope.ts'
import { Sampler } from '../agent/src/sampler.ts'
import { defaultSchedule, SCHEDULED } from '../agent/src/schedule.ts'

const ORIGIN: SampleOrigin = {
  tenant: 'bench',
  id: { hostId: 'bench-host', hostname: 'bench', agentId: 'bench-agent' },
}

export interface Timing {
  name: string
  medianUs: number
  p99Us: number
  iterations: number
}

/** Median and p99 of `fn` over `iterations` runs, after up to 1,000 to warm up. */
export function time(name: string, iterations: number, fn: () => void): Timing {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn()
  const samples = new Float64Array(iterations)
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint()
    fn()
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000
  }
  samples.sort()
  return {
    name,
    medianUs: samples[Math.floor(iterations / 2)] ?? NaN,
    p99Us: samples[Math.floor(iterations * 0.99)] ?? NaN,
    iterations,
  }
}

export function benchAgentSnapshot(procfs = '/proc', iterations = 5000): Timing[] {
  const sampler = new Sampler(procfs, () => undefined)
  const codec = envelopeCodec()
  const results: Timing[] = []
  for (const family of PROC_FAMILIES) {
    results.push(time(`read+parse ${family}`, iterations, () => sampler.sample(family)))
  }
  let seq = 0
  results.push(
    time('full snapshot: read+parse+encode, all families', iterations, () => {
      const ts = Date.now() * 1000
      for (const family of PROC_FAMILIES) {
        const sample = sampler.sample(family)
        if (!sample) continue
        codec.encode(envelopeOf(ORIGIN, seq++, ts, 1000, sample))
      }
    }),
  )
  sampler.close()
  return results
}

/**
 * Every entry the agent schedules by default (typed families and node_exporter collectors, floors
 * ignored), one after another as one tick runs them, `rounds` times: per entry the median and p99 of
 * read + parse + encode, and the whole tick. Unlike the hot loops above, each entry runs with the
 * caches the others left, as in the agent. Absent collectors cost what their back-off leaves.
 */
export function benchDefaultEntries(procfs = '/proc', rounds = 200): Timing[] {
  const sampler = new Sampler(procfs, () => undefined)
  const codec = envelopeCodec()
  const schedule = defaultSchedule(1000)
  const entries = SCHEDULED.filter((name) => name !== 'agent' && schedule[name]?.enabled === true)
  const perEntry = entries.map(() => new Float64Array(rounds))
  const ticks = new Float64Array(rounds)
  let seq = 0
  for (let r = -Math.min(20, rounds); r < rounds; r++) {
    const tick0 = process.hrtime.bigint()
    for (const [i, name] of entries.entries()) {
      const t0 = process.hrtime.bigint()
      const sample = sampler.sample(name)
      if (sample) codec.encode(envelopeOf(ORIGIN, seq++, Date.now() * 1000, 1000, sample))
      const samples = perEntry[i]
      if (r >= 0 && samples) samples[r] = Number(process.hrtime.bigint() - t0) / 1000
    }
    if (r >= 0) ticks[r] = Number(process.hrtime.bigint() - tick0) / 1000
  }
  sampler.close()
  const timing = (name: string, samples: Float64Array): Timing => {
    samples.sort()
    return {
      name,
      medianUs: samples[Math.floor(rounds / 2)] ?? NaN,
      p99Us: samples[Math.floor(rounds * 0.99)] ?? NaN,
      iterations: rounds,
    }
  }
  const out = entries.map((name, i) => timing(`in a tick: ${name}`, perEntry[i] ?? new Float64Array()))
  out.sort((a, b) => b.medianUs - a.medianUs)
  out.push(timing(`one tick of all ${String(entries.length)} default entries, floors ignored`, ticks))
  return out
}
