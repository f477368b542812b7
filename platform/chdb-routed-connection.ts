import type {
  ChdbConnection,
  Connection,
  ConnBaseQueryParams,
  ConnCommandResult,
  ConnExecParams,
  ConnExecResult,
  ConnInsertParams,
  ConnInsertResult,
  ConnPingParams,
  ConnPingResult,
  ConnQueryResult,
} from 'chdb/connection'
import type { Readable } from 'node:stream'

/**
 * A `@clickhouse/client` connection that hands every call to a chdb session chosen by `run`: the
 * one place the client's five calls are forwarded, for the pool (chdb-session-pool.ts) and for the
 * session per statement of tenant SQL (chdb-fresh-sessions.ts).
 */
export abstract class ChdbRoutedConnection implements Connection<Readable> {
  protected abstract run<T>(op: (session: ChdbConnection) => Promise<T>): Promise<T>

  abstract close(): Promise<void>

  ping(params: ConnPingParams): Promise<ConnPingResult> {
    return this.run((s) => s.ping(params))
  }

  query(params: ConnBaseQueryParams): Promise<ConnQueryResult<Readable>> {
    return this.run((s) => s.query(params))
  }

  insert(params: ConnInsertParams<Readable>): Promise<ConnInsertResult> {
    return this.run((s) => s.insert(params))
  }

  command(params: ConnBaseQueryParams): Promise<ConnCommandResult> {
    return this.run((s) => s.command(params))
  }

  exec(params: ConnExecParams<Readable>): Promise<ConnExecResult<Readable>> {
    return this.run((s) => s.exec(params))
  }
}
