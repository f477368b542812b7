import { processPoints, withProcessMetadata } from '#platform/build-info.ts'
import { formatMetricPoints, type ExposedPoint, type MetricMetadata } from '#platform/prometheus-text.ts'

const METRICS: Record<string, MetricMetadata> = {
  procstream_storage_statements_total: {
    type: 'counter',
    help: 'Statements answered, by kind (query or insert) and outcome (ok or error).',
  },
  procstream_storage_received_bytes_total: {
    type: 'counter',
    help: 'Request body bytes received, after their Content-Encoding.',
  },
  procstream_storage_refused_total: {
    type: 'counter',
    help: 'Requests refused before reaching the engine (credentials, size, malformed), by ClickHouse error code.',
  },
  procstream_storage_engine_seconds_total: { type: 'counter', help: 'Time the engine spent on statements.' },
}

export type StatementKind = 'query' | 'insert'

/**
 * The storage server's own health for GET /metrics. Statements are counted by kind and outcome only:
 * never by table, user or text, since the processes it serves write every tenant's rows through it.
 */
export class StorageMetrics {
  private readonly statements = new Map<string, number>()
  private readonly refused = new Map<number, number>()
  receivedBytes = 0
  engineSeconds = 0

  statement(kind: StatementKind, ok: boolean): void {
    const key = `${kind}\u0000${ok ? 'ok' : 'error'}`
    this.statements.set(key, (this.statements.get(key) ?? 0) + 1)
  }

  refusal(clickhouseCode: number): void {
    this.refused.set(clickhouseCode, (this.refused.get(clickhouseCode) ?? 0) + 1)
  }

  render(): string {
    const points: ExposedPoint[] = [
      ...processPoints('storage'),
      { name: 'procstream_storage_received_bytes_total', labels: {}, value: this.receivedBytes },
      { name: 'procstream_storage_engine_seconds_total', labels: {}, value: this.engineSeconds },
    ]
    for (const kind of ['query', 'insert'])
      for (const outcome of ['ok', 'error'])
        points.push({
          name: 'procstream_storage_statements_total',
          labels: { kind, outcome },
          value: this.statements.get(`${kind}\u0000${outcome}`) ?? 0,
        })
    for (const [code, value] of this.refused)
      points.push({ name: 'procstream_storage_refused_total', labels: { code: String(code) }, value })
    return formatMetricPoints(
      points,
      withProcessMetadata((name) => METRICS[name]),
    )
  }
}

/** Whether a statement writes rows: what the ClickHouse client sends as the query or the body's head. */
export function statementKind(query: string, body: Buffer): StatementKind {
  const head = (query === '' ? body.subarray(0, 64).toString('latin1') : query).trimStart()
  return /^insert\b/i.test(head) ? 'insert' : 'query'
}
