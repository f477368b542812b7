import { StorageError } from './errors.ts'
import type { Statement } from './chdb-executor.ts'

/**
 * URL parameters of ClickHouse's HTTP interface that are not settings. Anything else on the URL is a
 * setting, as on a server.
 */
const CONTROL_PARAMETERS = new Set(['query', 'query_id', 'database', 'user', 'password', 'default_format'])

/**
 * Parameters a server understands but this one does not implement. Refused by name rather than run
 * as settings (which would fail with a less helpful UNKNOWN_SETTING) or ignored (which would quietly
 * change what the client asked for).
 */
const UNSUPPORTED_PARAMETERS: Record<string, string> = {
  session_id: 'HTTP sessions are not supported: send each statement on its own',
  session_timeout: 'HTTP sessions are not supported',
  session_check: 'HTTP sessions are not supported',
  role: 'roles are not supported: the server has one user',
  compress: 'native compression of the response is not supported',
  decompress: 'native compression of the request is not supported',
}

/**
 * Settings of the HTTP layer itself, with no meaning for the engine: dropped, as a server's engine
 * never sees them either. `@clickhouse/client` sends some of them by default (e.g. the response
 * compression it asks for; this server answers uncompressed, which the client accepts).
 */
const HTTP_LAYER_SETTINGS = new Set([
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_send_progress_interval_ms',
  'http_response_buffer_size',
  'enable_http_compression',
  'http_zlib_compression_level',
  'http_native_compression_disable_checksumming_on_decompress',
  'http_wait_end_of_query',
  'cancel_http_readonly_queries_on_client_close',
])

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const QUERY_ID = /^[\x21-\x7e]{1,128}$/

/**
 * A statement from the request line and body, by the rules of ClickHouse's HTTP interface: the SQL
 * is the `query` parameter, the body, or both joined by a newline (an INSERT's data after its
 * statement); `param_x` parameters bind `{x:Type}`; every other parameter is a setting. The body
 * stays bytes: after an INSERT's head it may be a binary format's data.
 */
export function statementOf(method: string, search: URLSearchParams, body: Buffer): Statement {
  const params = new Map<string, string>()
  const settings = new Map<string, string>()
  for (const [key, value] of search) {
    if (CONTROL_PARAMETERS.has(key) || HTTP_LAYER_SETTINGS.has(key)) continue
    const unsupported = UNSUPPORTED_PARAMETERS[key]
    if (unsupported !== undefined) throw new StorageError('BAD_ARGUMENTS', `${key}: ${unsupported}`)
    if (key.startsWith('param_')) {
      const name = key.slice('param_'.length)
      if (!IDENTIFIER.test(name))
        throw new StorageError(
          'BAD_ARGUMENTS',
          `query parameter name ${JSON.stringify(name)} is not an identifier`,
        )
      params.set(name, value)
    } else {
      if (!IDENTIFIER.test(key))
        throw new StorageError('BAD_ARGUMENTS', `setting name ${JSON.stringify(key)} is not an identifier`)
      settings.set(key, value)
    }
  }
  const query = search.get('query') ?? ''
  // A blank query parameter leaves the body to be the SQL: only then is it read as text here.
  if (query.trim() === '' && body.toString('utf8').trim() === '')
    throw new StorageError('BAD_ARGUMENTS', 'no query: send it in the query parameter or the body')
  const database = search.get('database') ?? undefined
  if (database !== undefined && !IDENTIFIER.test(database))
    throw new StorageError('BAD_ARGUMENTS', `database ${JSON.stringify(database)} is not an identifier`)
  const queryId = search.get('query_id')
  // Echoed in a response header: checked before the statement runs, not when the header is written.
  if (queryId !== null && !QUERY_ID.test(queryId))
    throw new StorageError('BAD_ARGUMENTS', 'query_id must be 1 to 128 printable ASCII characters')
  const format = search.get('default_format') ?? 'TabSeparated'
  if (!IDENTIFIER.test(format))
    throw new StorageError('BAD_ARGUMENTS', `default_format ${JSON.stringify(format)} is not a format name`)
  return {
    query,
    body,
    head: query !== '' && body.length > 0 ? query : undefined,
    params,
    settings,
    database: database === 'default' ? undefined : database,
    format,
    // GET and HEAD (which fastify answers from the GET route): only a POST may write.
    readonly: method !== 'POST',
  }
}

/**
 * The statement as SQL text, by ClickHouse's HTTP rule: the `query` parameter, the body, or both
 * joined by a newline (an INSERT's data after its statement). The body is read as UTF-8: never call
 * this for a binary body.
 */
export function sqlOf(statement: Statement): string {
  const body = statement.body.toString('utf8')
  return statement.query !== '' && body !== '' ? `${statement.query}\n${body}` : statement.query + body
}
