/**
 * What the processor itself spends per stored value, apart from ClickHouse and Kafka: Avro decode of
 * the messages, the rows of each envelope (series lookup included), the columns of `points`, the tier
 * feed and the sample log, and their Arrow descriptors, the hand-over to chdb. Issue 18's target is
 * 2 CPU-µs per value for exactly this. Measured in process on a backlog of a simulated fleet
 * (this host's real /proc samples for every host, one Kafka message per host-second), steady state:
 * one warm-up pass fills the series registry as a running processor's is, then the measured passes.
 *
 * `npx tsx bench/processor-cost.ts [--hosts N] [--seconds N]`
 */
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { clickHouseString } from '#platform/clickhouse-literal.ts'
import { arrowColumns } from '#platform/columnar.ts'
import { POINTS_TABLE, TIER_FEED_TABLE } from '#schemas/clickhouse/ddl.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import {
  newSeriesDays,
  pointColumns,
  sampleLogColumns,
  seriesColumns,
} from '../stream-processors/src/columns.ts'
import { appendEnvelopeRows, newRowBatch, SeriesRegistry } from '../stream-processors/src/rows.ts'
import { hostSnapshot } from '../loadtest/src/host-snapshot.ts'

export interface ProcessorCostResult {
  hosts: number
  seconds: number
  values: number
  /** CPU of this process (user + system) per value, by stage and in all. */
  decodeUs: number
  rowsUs: number
  columnsUs: number
  totalUs: number
}

function cpuUs(): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

export function benchProcessorCost(hosts = 200, seconds = 20): ProcessorCostResult {
  const codec = envelopeCodec()
  const samples = hostSnapshot()
  const t0 = Math.floor(Date.now() / 1000 - seconds) * 1000
  const messages: { tenant: string; value: Buffer; offset: string }[] = []
  for (let sec = 0; sec < seconds; sec++)
    for (let h = 0; h < hosts; h++) {
      const host = `host-${String(h).padStart(5, '0')}`
      messages.push({
        tenant: 'bench',
        offset: String(messages.length),
        value: Buffer.concat(
          samples.map((sample, i) =>
            codec.encode({
              tenant: 'bench',
              host_id: host,
              hostname: host,
              agent_id: `agent-${host}`,
              seq: sec * samples.length + i,
              ts_us: (t0 + sec * 1000) * 1000,
              interval_ms: 1000,
              sample,
            }),
          ),
        ),
      })
    }
  const registry = new SeriesRegistry()
  /** One pass in chunks of a second of the fleet, as the processor cuts them; times per stage. */
  const pass = (): { values: number; decode: number; rows: number; columns: number } => {
    let values = 0
    let decode = 0
    let rows = 0
    let columns = 0
    for (let at = 0; at < messages.length; at += hosts) {
      const chunk = messages.slice(at, at + hosts)
      let c0 = cpuUs()
      const decoded = chunk.map((m) => ({ m, records: codec.splitRecords(m.value) }))
      let c1 = cpuUs()
      decode += c1 - c0
      c0 = c1
      const batch = newRowBatch(registry)
      for (const { m, records } of decoded)
        for (const { envelope } of records)
          appendEnvelopeRows(batch, envelope, m.tenant, { partition: 0, offset: m.offset, topic: 'bench' })
      c1 = cpuUs()
      rows += c1 - c0
      c0 = c1
      const fresh = newSeriesDays(batch)
      for (const table of [
        seriesColumns('bench', fresh),
        pointColumns('bench', batch, POINTS_TABLE),
        pointColumns('bench', batch, TIER_FEED_TABLE),
        sampleLogColumns('bench', batch),
      ])
        if (table.rows > 0) arrowColumns(table, clickHouseString)
      fresh.refs.forEach((ref, i) => (ref.storedDay = fresh.days[i] ?? ref.storedDay))
      columns += cpuUs() - c0
      values += batch.values.length
    }
    return { values, decode, rows, columns }
  }
  pass()
  const runs = [pass(), pass(), pass()]
  const median = (pick: (r: (typeof runs)[number]) => number): number =>
    runs.map((r) => pick(r) / r.values).sort((a, b) => a - b)[1] ?? 0
  return {
    hosts,
    seconds,
    values: runs[0]?.values ?? 0,
    decodeUs: median((r) => r.decode),
    rowsUs: median((r) => r.rows),
    columnsUs: median((r) => r.columns),
    totalUs: median((r) => r.decode + r.rows + r.columns),
  }
}

export function processorCostMarkdown(r: ProcessorCostResult): string {
  return [
    `processor CPU per value, without ClickHouse and Kafka (${String(r.hosts)} hosts × ${String(r.seconds)} s, ${r.values.toLocaleString('en')} values per pass, median of 3 passes after a warm-up)`,
    '| Avro decode µs | rows µs | columns + Arrow µs | total µs |',
    '| ---: | ---: | ---: | ---: |',
    `| ${r.decodeUs.toFixed(3)} | ${r.rowsUs.toFixed(3)} | ${r.columnsUs.toFixed(3)} | ${r.totalUs.toFixed(3)} |`,
  ].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { hosts: { type: 'string' }, seconds: { type: 'string' } } })
  const result = benchProcessorCost(Number(values.hosts ?? 200), Number(values.seconds ?? 20))
  process.stdout.write(`${processorCostMarkdown(result)}\n`)
}
