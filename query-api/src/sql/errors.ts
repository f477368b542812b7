/**
 * A tenant's SQL refused before anything of it ran, or an admitted query the engine could not answer:
 * the message is the project's own words (or, for an admitted query, the engine's words about a query
 * that could see nothing but the tenant's rows). Answered as 400 SQL_REJECTED.
 */
export class SqlRejected extends Error {
  override readonly name = 'SqlRejected'
}

/** The tenant already runs as many SQL queries as it may at once: 429, retry shortly. */
export class SqlBusy extends Error {
  override readonly name = 'SqlBusy'
}
