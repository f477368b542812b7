// The storage server, for tests that reach ClickHouse over HTTP as separate processes would.
export { ChdbExecutor } from '../../../storage/src/chdb-executor.ts'
export { buildStorageServer } from '../../../storage/src/server.ts'
