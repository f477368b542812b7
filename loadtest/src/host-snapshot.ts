import { Sampler } from '../../agent/src/sampler.ts'
import { PROC_FAMILIES, type Sample } from '#schemas/src/families.ts'
import { samplePoints } from '#schemas/src/node-exporter.ts'

/** One sample of every /proc family of this host, as the agent reads them: real shapes for a bench. */
export function hostSnapshot(): Sample[] {
  const sampler = new Sampler('/proc', () => undefined)
  try {
    return PROC_FAMILIES.map((f) => sampler.sample(f)).filter((s): s is Sample => s !== undefined)
  } finally {
    sampler.close()
  }
}

/** How many values (stored series points) a sample holds. */
export function valuesIn(sample: Sample): number {
  let n = 0
  samplePoints(sample, () => n++)
  return n
}
