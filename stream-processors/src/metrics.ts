import { processPoints, withProcessMetadata } from '#platform/build-info.ts'
import { formatMetricPoints, type ExposedPoint, type MetricMetadata } from '#platform/prometheus-text.ts'
import type { StreamProcessor } from './processor.ts'

const METRICS: Record<string, MetricMetadata> = {
  procstream_processor_messages_total: { type: 'counter', help: 'Kafka messages read.' },
  procstream_processor_envelopes_total: { type: 'counter', help: 'Envelopes stored.' },
  procstream_processor_rows_total: { type: 'counter', help: 'Raw metric rows inserted.' },
  procstream_processor_inserts_total: { type: 'counter', help: 'Successful ClickHouse inserts.' },
  procstream_processor_insert_failures_total: {
    type: 'counter',
    help: 'ClickHouse inserts that failed and were retried.',
  },
  procstream_processor_insert_seconds_total: { type: 'counter', help: 'Time spent in successful inserts.' },
  procstream_processor_last_insert_seconds: {
    type: 'gauge',
    help: 'Duration of the latest successful insert.',
  },
  procstream_processor_dead_letters_total: {
    type: 'counter',
    help: 'Payloads sent to the dead-letter topic, by reason.',
  },
  procstream_processor_dead_letter_failures_total: {
    type: 'counter',
    help: 'Attempts to write dead letters that failed; their partition waits and retries, committing nothing past them.',
  },
  procstream_processor_dead_letter_stalled_partitions: {
    type: 'gauge',
    help: 'Partitions stopped because their dead letters cannot be written (alarm when above 0).',
  },
  procstream_processor_duplicate_envelopes_total: {
    type: 'counter',
    help: 'Envelopes an agent resent, dropped.',
  },
  procstream_processor_replayed_chunks_total: {
    type: 'counter',
    help: 'Chunks replayed from a pending intent.',
  },
  procstream_processor_freshness_seconds: {
    type: 'histogram',
    help: 'Time from a sample being taken to the end of the insert that stored it.',
  },
  procstream_processor_live_rates_total: {
    type: 'counter',
    help: 'Per-second counter rates published on the live path.',
  },
  procstream_processor_counter_resets_total: {
    type: 'counter',
    help: 'Counter decreases read as a reset or as a 32-bit wrap, by kind.',
  },
  procstream_processor_live_rates_dropped_total: {
    type: 'counter',
    help: 'Counter points that gave no rate, by reason (out_of_order: not newer than the last; absurd).',
  },
  procstream_processor_live_publish_failures_total: {
    type: 'counter',
    help: 'Live messages NATS refused (connection closed); their points were stored all the same.',
  },
  procstream_processor_consumer_lag_messages: {
    type: 'gauge',
    help: 'Messages not yet committed by the group, per partition.',
  },
  procstream_processor_tier_lag_messages: {
    type: 'gauge',
    help: 'Messages not yet fed to the rollup tiers by the tier feeder group, per partition.',
  },
  procstream_processor_tier_batches_total: { type: 'counter', help: 'Batches fed to the rollup tiers.' },
  procstream_processor_tier_values_total: { type: 'counter', help: 'Values fed to the rollup tiers.' },
  procstream_processor_tier_failures_total: {
    type: 'counter',
    help: 'Tier feeds that failed and were retried.',
  },
  procstream_processor_agents: {
    type: 'gauge',
    help: 'Agents this member read from in the last 5 min, by state (reporting: all of them; late: newest envelope sampled over 10 s before it was read; silent: nothing for 3 intervals and 10 s; spooling: its agent record reports a spool).',
  },
}

/**
 * A processor's health in the Prometheus text format: its counters, and the group's lag read from the
 * broker at scrape time (so it is right even for partitions this member does not own right now).
 */
export async function processorMetricsText(processor: StreamProcessor): Promise<string> {
  const s = processor.stats
  const points: ExposedPoint[] = [
    ...processPoints('processor'),
    { name: 'procstream_processor_messages_total', labels: {}, value: s.messages },
    { name: 'procstream_processor_envelopes_total', labels: {}, value: s.envelopes },
    { name: 'procstream_processor_rows_total', labels: {}, value: s.rows },
    { name: 'procstream_processor_inserts_total', labels: {}, value: s.inserts },
    { name: 'procstream_processor_insert_failures_total', labels: {}, value: s.insertFailures },
    { name: 'procstream_processor_insert_seconds_total', labels: {}, value: s.insertSeconds },
    { name: 'procstream_processor_last_insert_seconds', labels: {}, value: s.lastInsertMs / 1000 },
    { name: 'procstream_processor_duplicate_envelopes_total', labels: {}, value: s.duplicateEnvelopes },
    { name: 'procstream_processor_dead_letter_failures_total', labels: {}, value: s.deadLetterFailures },
    {
      name: 'procstream_processor_dead_letter_stalled_partitions',
      labels: {},
      value: processor.deadLetterStalledPartitions,
    },
    { name: 'procstream_processor_replayed_chunks_total', labels: {}, value: s.replayedChunks },
  ]
  for (const [reason, n] of Object.entries(s.rejected))
    points.push({ name: 'procstream_processor_dead_letters_total', labels: { reason }, value: n })
  const rates = processor.rates?.stats
  if (rates) {
    points.push(
      {
        name: 'procstream_processor_live_publish_failures_total',
        labels: {},
        value: processor.livePublishFailures,
      },
      { name: 'procstream_processor_live_rates_total', labels: {}, value: rates.rates },
      { name: 'procstream_processor_counter_resets_total', labels: { kind: 'reset' }, value: rates.resets },
      { name: 'procstream_processor_counter_resets_total', labels: { kind: 'wrap' }, value: rates.wraps },
    )
    for (const [reason, n] of Object.entries(rates.dropped))
      points.push({ name: 'procstream_processor_live_rates_dropped_total', labels: { reason }, value: n })
  }
  for (const { partition, messages } of await processor.lag())
    points.push({
      name: 'procstream_processor_consumer_lag_messages',
      labels: { partition: String(partition) },
      value: messages,
    })
  const tiers = processor.tiers
  if (tiers) {
    points.push(
      { name: 'procstream_processor_tier_batches_total', labels: {}, value: tiers.stats.chunks },
      { name: 'procstream_processor_tier_values_total', labels: {}, value: tiers.stats.values },
      { name: 'procstream_processor_tier_failures_total', labels: {}, value: tiers.stats.insertFailures },
    )
    for (const { partition, messages } of await tiers.lag())
      points.push({
        name: 'procstream_processor_tier_lag_messages',
        labels: { partition: String(partition) },
        value: messages,
      })
  }
  points.push(...processor.freshness.points())
  const agents = processor.agents.counts(Date.now())
  for (const state of ['reporting', 'late', 'silent', 'spooling'] as const)
    points.push({ name: 'procstream_processor_agents', labels: { state }, value: agents[state] })
  return formatMetricPoints(
    points,
    withProcessMetadata((name) => METRICS[name]),
  )
}
