/**
 * Where samples travel in Kafka: the topic agents and the ingest gateway produce to and the processors
 * consume, and the message key. A contract between producers and consumers, so it lives here rather
 * than in the Kafka client (platform/kafka.ts).
 */

/** The topic agents and the ingest gateway produce samples to and the processors consume. */
export const SAMPLES_TOPIC = 'procstream.samples.v1'

/** Kafka message key: one host's samples share a key, so they stay in order on one partition. */
export function sampleKey(tenant: string, hostId: string): string {
  return `${tenant}/${hostId}`
}
