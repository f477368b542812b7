/**
 * Agent cost per collection, measured (not asserted): for each family, read + parse of this host's
 * /proc; then a full snapshot of every family read, parsed and Avro-encoded. Medians and p99 over
 * many iterations after a warm-up, in microseconds.
 */
import { envelopeCodec } from '../schemas/src/codec.ts'
import { PROC_FAMILIES } from '../schemas/src/families.ts'
import { envelopeOf, type SampleOrigin } from '../agent/src/envelope.ts'
import { Sampler } from '../agent/src/sampler.ts'

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
