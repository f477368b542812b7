// The stream processor's service, for tests of a whole pipeline.
export type { StreamProcessor } from '../../../stream-processors/src/processor.ts'
export { ddlOptions, serveProcessorMetrics, startProcessor } from '../../../stream-processors/src/service.ts'
