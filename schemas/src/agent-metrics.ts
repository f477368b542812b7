import type { AgentSample } from './records.ts'
import type { EmitPoint, MetricFamilyInfo, MetricType } from './metric-model.ts'

/**
 * The agent's own health as Prometheus series: the `agent` family's record, the agent's /metrics
 * endpoint and the rows the processor stores all use these names, so a chart of an agent's health
 * reads the same wherever it comes from. Named procstream_agent_* after the Prometheus convention of
 * a namespace per exporter.
 */
type ScalarField = {
  [K in keyof AgentSample]: AgentSample[K] extends number ? K : never
}[keyof AgentSample]

interface ScalarMetric extends MetricFamilyInfo {
  readonly field: ScalarField
  /** Multiplier from the record's unit to the metric's (µs → s for the start time). */
  readonly scale?: number
}

const metric = (
  field: ScalarField,
  name: string,
  type: MetricType,
  help: string,
  scale?: number,
): ScalarMetric => (scale === undefined ? { field, name, type, help } : { field, name, type, help, scale })

const SCALARS: readonly ScalarMetric[] = [
  metric(
    'start_time_us',
    'procstream_agent_start_time_seconds',
    'gauge',
    'When the agent started, in unixtime.',
    1e-6,
  ),
  metric('samples', 'procstream_agent_samples_total', 'counter', 'Samples taken, every family.'),
  metric(
    'collect_seconds',
    'procstream_agent_collect_seconds_total',
    'counter',
    'Seconds spent reading, parsing and encoding samples.',
  ),
  metric(
    'ticks_late',
    'procstream_agent_ticks_late_total',
    'counter',
    'Ticks that fired more than half an interval late.',
  ),
  metric(
    'ticks_missed',
    'procstream_agent_ticks_missed_total',
    'counter',
    'Ticks skipped because the agent was stalled past them.',
  ),
  metric(
    'records_sent',
    'procstream_agent_records_sent_total',
    'counter',
    'Envelopes acknowledged by Kafka or the ingest gateway.',
  ),
  metric('messages_sent', 'procstream_agent_messages_sent_total', 'counter', 'Kafka messages acknowledged.'),
  metric(
    'bytes_sent',
    'procstream_agent_sent_bytes_total',
    'counter',
    'Envelope bytes acknowledged by Kafka or the ingest gateway, before compression.',
  ),
  metric(
    'send_errors',
    'procstream_agent_send_errors_total',
    'counter',
    'Sends that failed and will be retried.',
  ),
  metric(
    'queued_records',
    'procstream_agent_queued_records',
    'gauge',
    'Envelopes not yet acknowledged, in memory and in the spool.',
  ),
  metric(
    'queued_bytes',
    'procstream_agent_queued_bytes',
    'gauge',
    'Bytes of unacknowledged envelopes held in memory.',
  ),
  metric('spool_records', 'procstream_agent_spool_records', 'gauge', 'Envelopes waiting in the disk spool.'),
  metric('spool_bytes', 'procstream_agent_spool_bytes', 'gauge', 'Size of the disk spool files in bytes.'),
  metric(
    'dropped_records',
    'procstream_agent_dropped_records_total',
    'counter',
    'Envelopes deleted unsent because the queue or the spool was full.',
  ),
  metric(
    'cpu_seconds',
    'procstream_agent_cpu_seconds_total',
    'counter',
    'User and system CPU time of the agent process.',
  ),
  metric(
    'resident_memory_bytes',
    'procstream_agent_resident_memory_bytes',
    'gauge',
    'Resident memory of the agent process in bytes.',
  ),
]

const PER_FAMILY = [
  {
    field: 'parse_errors',
    name: 'procstream_agent_parse_errors_total',
    type: 'counter',
    help: 'Lines or values that did not parse, per family.',
  },
  {
    field: 'read_errors',
    name: 'procstream_agent_read_errors_total',
    type: 'counter',
    help: 'Failed reads of a source, per family.',
  },
] as const satisfies readonly (MetricFamilyInfo & { field: keyof AgentSample })[]

export const AGENT_METRICS: readonly MetricFamilyInfo[] = [...SCALARS, ...PER_FAMILY].map(
  ({ name, help, type }) => ({
    name,
    help,
    type,
  }),
)

export function agentPoints(sample: AgentSample, emit: EmitPoint): void {
  for (const m of SCALARS)
    emit(m.name, {}, m.scale === undefined ? sample[m.field] : sample[m.field] * m.scale)
  for (const m of PER_FAMILY) {
    const counts = sample[m.field]
    for (const family of Object.keys(counts).sort()) emit(m.name, { family }, counts[family] ?? 0)
  }
}
