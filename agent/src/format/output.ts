import type { Envelope, Sample } from '#schemas/src/families.ts'
import { formatPrometheus } from './prometheus.ts'

/**
 * What `--once` prints: node_exporter's text format, or the envelopes exactly as they would be
 * Avro-encoded, one JSON object per line.
 */
export function formatSamples(
  format: 'prometheus' | 'json',
  samples: Sample[],
  envelopeOf: (sample: Sample, index: number) => Envelope,
): string {
  if (format === 'prometheus') return formatPrometheus(samples)
  return samples.map((s, i) => `${JSON.stringify(envelopeOf(s, i))}\n`).join('')
}
