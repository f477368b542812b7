/**
 * `npm run bench`: measurements printed as tables (and JSON with --json), never pass/fail.
 *   --quick        only the in-process snapshot costs (seconds)
 *   --seconds N    measurement window per rate for the agent vs node_exporter run (default 60)
 *   --repeats N    runs of each agent vs node_exporter row, medians reported (default 1)
 *   --peer         only procstream's storage path beside VictoriaMetrics single-node
 *                  (bench/vs-victoria-metrics.ts, ~4 min; its own flags pass through: --step-seconds,
 *                  --warmup-seconds, --start-rate, --max-rate, --format, --only)
 *   --floors       also the floors under the targets (about 15 min more): what the kernel, a bare
 *                  node and V8's flags leave for the agent (bench/agent-floor.ts), and how many rows
 *                  per second chdb alone takes into the series-id layout: raw through Arrow, JSON
 *                  and RowBinary, the tier feed in 1 s and 10 s batches, and both at once
 *                  (bench/chdb-insert-ceiling.ts)
 * Without --quick it also measures ClickHouse bytes per stored value per codec (bench/storage-codecs.ts)
 * how many values per second one processor stores (bench/processor-throughput.ts), how many
 * requests per second the ingest gateway takes into the broker (bench/ingest-gateway.ts), and how
 * long the Prometheus API takes over dashboard queries, raw and from the rollup tiers
 * (bench/query-api.ts), and procstream's storage path beside VictoriaMetrics on the same simulated
 * fleet (bench/vs-victoria-metrics.ts; builds the peer with `go install` on first use).
 */
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { benchAgentSnapshot, benchDefaultEntries } from './agent-snapshot.ts'
import { benchAgentVsNodeExporter, costMarkdown } from './agent-vs-node-exporter.ts'
import { agentFloorMarkdown, benchAgentFloor } from './agent-floor.ts'
import { benchChdbInsertCeiling, ceilingMarkdown } from './chdb-insert-ceiling.ts'
import { benchIngestGateway, gatewayMarkdown } from './ingest-gateway.ts'
import { benchProcessorThroughput, throughputMarkdown } from './processor-throughput.ts'
import { benchQueryApi, queryApiMarkdown } from './query-api.ts'
import { benchStorageCodecs, storageCodecsMarkdown } from './storage-codecs.ts'
import {
  benchVsVictoriaMetrics,
  PEER_FLAGS,
  peerMarkdown,
  peerOptionsFromFlags,
} from './vs-victoria-metrics.ts'

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    quick: { type: 'boolean' },
    floors: { type: 'boolean' },
    peer: { type: 'boolean' },
    ...PEER_FLAGS,
    seconds: { type: 'string' },
    repeats: { type: 'string' },
  },
})
const seconds = Number(values.seconds ?? 60)
if (!Number.isInteger(seconds) || seconds < 5 || seconds > 3600) {
  process.stderr.write(`--seconds must be a whole number from 5 to 3600, got ${values.seconds ?? ''}\n`)
  process.exit(2)
}
const repeats = Number(values.repeats ?? 1)
if (!Number.isInteger(repeats) || repeats < 1 || repeats > 20) {
  process.stderr.write(`--repeats must be a whole number from 1 to 20, got ${values.repeats ?? ''}\n`)
  process.exit(2)
}

const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? 'cpu' }
const full = !values.quick && !values.peer
const snapshot = values.peer ? [] : [...benchAgentSnapshot(), ...benchDefaultEntries()]
const cost = full ? await benchAgentVsNodeExporter({ seconds, repeats, rates: [1, 10, 100] }) : undefined
const storage = full ? await benchStorageCodecs({ hours: 6 }) : undefined
const throughput = full ? await benchProcessorThroughput(200, 60) : undefined
const gateway = full ? await benchIngestGateway({ seconds: 60, connections: 128 }) : undefined
const query = full ? await benchQueryApi({ hosts: 10, hours: 6 }) : undefined
const peer =
  full || values.peer
    ? await benchVsVictoriaMetrics({
        ...peerOptionsFromFlags(values),
        log: (line) => process.stderr.write(`${line}\n`),
      })
    : undefined
const floors = values.floors ? await benchAgentFloor() : undefined
const ceiling = values.floors
  ? await benchChdbInsertCeiling({ rows: 2_000_000, batchRows: 50_000 })
  : undefined

if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ machine, snapshot, cost, storage, throughput, gateway, query, peer, floors, ceiling }, null, 2)}\n`,
  )
} else {
  const out = (s: string): boolean => process.stdout.write(`${s}\n`)
  if (snapshot.length > 0) {
    out(`agent collection cost on this host (${machine.cpus} × ${machine.model})`)
    out(`${'what'.padEnd(50)} ${'median µs'.padStart(10)} ${'p99 µs'.padStart(10)}`)
    for (const r of snapshot)
      out(`${r.name.padEnd(50)} ${r.medianUs.toFixed(1).padStart(10)} ${r.p99Us.toFixed(1).padStart(10)}`)
  }
  if (cost) {
    out('')
    out(
      `agent (sending to Kafka) vs node_exporter 1.5 scraped at the same rate with the same collectors, ${seconds} s each, median of ${repeats}`,
    )
    out(costMarkdown(cost))
  }
  if (storage) {
    out('')
    out(storageCodecsMarkdown(storage))
  }
  if (throughput) {
    out('')
    out(throughputMarkdown(throughput))
  }
  if (gateway) {
    out('')
    out(gatewayMarkdown(gateway))
  }
  if (query) {
    out('')
    out(queryApiMarkdown(query))
  }
  if (peer) {
    out('')
    out(peerMarkdown(peer))
  }
  if (floors) {
    out('')
    out(agentFloorMarkdown(floors))
  }
  if (ceiling) {
    out('')
    out(ceilingMarkdown(ceiling))
  }
}
