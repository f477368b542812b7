/**
 * The stream processor's writing side, for tests of other folders (the query API, the schema) that
 * need rows stored exactly as a processor stores them, or live messages published as it publishes
 * them. Components never import each other (README.md, Layout and dependencies); their tests reach
 * another component through test/support only.
 */
export { ClickHouseSink } from '../../stream-processors/src/clickhouse-sink.ts'
export { CounterRates } from '../../stream-processors/src/counter-rates.ts'
export { LivePublisher } from '../../stream-processors/src/live-publisher.ts'
export { addPoint, batchOf, newRowBatch, type RowBatch } from '../../stream-processors/src/rows.ts'
