import type { ChdbConnection } from 'chdb/connection'
import { ChdbRoutedConnection } from './chdb-routed-connection.ts'

/**
 * Every statement on a chdb session of its own, opened for it and closed after it (about 1.5 ms),
 * at most `maxConcurrent` at once; for statements of tenants, never for ingestion.
 *
 * Why not a pool of long-lived sessions: after a statement fails part-way, chdb 3.4 hands the
 * partial output it had written to the NEXT statement of the same session (seen here: a JSONCompact
 * answer preceded by the header of the failed query's answer). On a shared session that would give
 * one tenant's partial rows to whoever runs next, and any `SET` would outlive its statement. A session
 * per statement leaves nothing behind for anyone.
 */
export class ChdbFreshSessions extends ChdbRoutedConnection {
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    private readonly open: () => ChdbConnection,
    private readonly maxConcurrent: number,
  ) {
    super()
  }

  protected async run<T>(op: (session: ChdbConnection) => Promise<T>): Promise<T> {
    if (this.running < this.maxConcurrent) this.running++
    else await new Promise<void>((resolve) => this.waiting.push(resolve))
    let session: ChdbConnection | undefined
    try {
      session = this.open()
      return await op(session)
    } finally {
      await session?.close()
      // The slot passes straight to the next waiter, so `running` never passes the limit.
      const next = this.waiting.shift()
      if (next) next()
      else this.running--
    }
  }

  override async close(): Promise<void> {
    // Sessions close after their statement; nothing is held between statements.
  }
}
