import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { createClickHouse, createTenantSqlClickHouse } from '#platform/clickhouse.ts'
import { migrate } from '#schemas/clickhouse/migrate.ts'

export interface EmbeddedClickHouse {
  clickhouse: ClickHouseClient
  /** Tenant SQL's own connection on the same data (platform/clickhouse.ts). */
  sqlClickhouse: ClickHouseClient
  database: string
  /** The data folder (one per process: chdb opens one at a time). */
  path: string
  /** Closes the client and removes the data folder. */
  close(): Promise<void>
}

/**
 * Embedded ClickHouse in a fresh temp folder with every migration applied and retention long
 * enough (ten years) that rows stamped at any fixed date of a test are never dropped by TTL.
 */
export async function openEmbeddedClickHouse(
  database: string,
  dedupWindow = 100,
): Promise<EmbeddedClickHouse> {
  const dir = mkdtempSync(join(tmpdir(), `procstream-${database}-`))
  const config = { url: undefined, user: 'default', password: '', database, embeddedPath: dir }
  const clickhouse = await createClickHouse(config)
  const sqlClickhouse = await createTenantSqlClickHouse(config)
  const close = async (): Promise<void> => {
    await sqlClickhouse.close()
    await clickhouse.close()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await migrate(clickhouse, {
      database,
      rawTtlDays: 3650,
      tier10sTtlDays: 3650,
      tier1mTtlDays: 3650,
      tier1hTtlDays: 3650,
      dedupWindow,
    })
  } catch (err) {
    await close()
    throw err
  }
  return { clickhouse, sqlClickhouse, database, path: dir, close }
}
