// The query API, for tests that drive another component through it.
export { buildQueryApi } from '../../../query-api/src/server.ts'
