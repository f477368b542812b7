import { processPoints, withProcessMetadata } from '#platform/build-info.ts'
import { formatMetricPoints, type ExposedPoint, type MetricMetadata } from '#platform/prometheus-text.ts'
import type { KafkaWriterStats } from './kafka-writer.ts'
import type { ControlRelayStats } from './control-relay.ts'

const METRICS: Record<string, MetricMetadata> = {
  procstream_ingest_requests_total: { type: 'counter', help: 'Ingest requests answered, by status code.' },
  procstream_ingest_records_total: { type: 'counter', help: 'Records acknowledged by Kafka.' },
  procstream_ingest_bytes_total: { type: 'counter', help: 'Request body bytes received, as sent.' },
  procstream_ingest_kafka_sends_total: { type: 'counter', help: 'Produce requests acknowledged.' },
  procstream_ingest_kafka_send_failures_total: { type: 'counter', help: 'Produce requests that failed.' },
  procstream_ingest_kafka_send_seconds_total: { type: 'counter', help: 'Time spent waiting for acks.' },
  procstream_ingest_queued_bytes: { type: 'gauge', help: 'Bytes of accepted requests waiting for Kafka.' },
  procstream_ingest_control_polls: { type: 'gauge', help: 'Control polls held open by agents.' },
  procstream_ingest_control_held: {
    type: 'gauge',
    help: 'Control requests handed to an agent, waiting for its reply.',
  },
  procstream_ingest_control_delivered_total: {
    type: 'counter',
    help: 'Control requests handed to polling agents.',
  },
  procstream_ingest_control_answered_total: {
    type: 'counter',
    help: 'Agent replies passed back to the requester.',
  },
  procstream_ingest_control_expired_total: {
    type: 'counter',
    help: 'Control requests whose agent did not reply in time.',
  },
}

/** The gateway's counters; the route updates them, /metrics renders them. */
export class IngestMetrics {
  private readonly byStatus = new Map<number, number>()
  records = 0
  bytes = 0

  answered(status: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1)
  }

  render(writer: KafkaWriterStats, queuedBytes: number, control: ControlRelayStats): string {
    const points: ExposedPoint[] = [
      ...processPoints('gateway'),
      ...[...this.byStatus].map(([code, value]) => ({
        name: 'procstream_ingest_requests_total',
        labels: { code: String(code) },
        value,
      })),
      { name: 'procstream_ingest_records_total', labels: {}, value: this.records },
      { name: 'procstream_ingest_bytes_total', labels: {}, value: this.bytes },
      { name: 'procstream_ingest_kafka_sends_total', labels: {}, value: writer.sends },
      { name: 'procstream_ingest_kafka_send_failures_total', labels: {}, value: writer.failedSends },
      { name: 'procstream_ingest_kafka_send_seconds_total', labels: {}, value: writer.sendSeconds },
      { name: 'procstream_ingest_queued_bytes', labels: {}, value: queuedBytes },
      { name: 'procstream_ingest_control_polls', labels: {}, value: control.polls },
      { name: 'procstream_ingest_control_held', labels: {}, value: control.held },
      { name: 'procstream_ingest_control_delivered_total', labels: {}, value: control.delivered },
      { name: 'procstream_ingest_control_answered_total', labels: {}, value: control.answered },
      { name: 'procstream_ingest_control_expired_total', labels: {}, value: control.expired },
    ]
    return formatMetricPoints(
      points,
      withProcessMetadata((name) => METRICS[name]),
    )
  }
}
