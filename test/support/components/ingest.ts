// The ingest gateway, for tests that send through it.
export { readIngestConfig } from '../../../ingest/src/config.ts'
export { startIngestGateway, type RunningGateway } from '../../../ingest/src/service.ts'
