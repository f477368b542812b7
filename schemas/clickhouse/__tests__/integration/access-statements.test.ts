/**
 * The tenant SQL user's statements (access.ts) through ClickHouse's own parser. chdb has no access
 * control, so nothing here runs them; what it can prove is that each is one statement the server will
 * read as written, in both profiles (a grammar slip would otherwise surface only on a server's start).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouse, readClickHouseConfig } from '#platform/clickhouse.ts'
import { ConfigReader } from '#platform/config.ts'
import { tenantSqlAccessStatements } from '../../access.ts'
import type { DdlOptions } from '../../ddl.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'procstream-access-'))
let clickhouse: ClickHouseClient

beforeAll(async () => {
  clickhouse = await createClickHouse(readClickHouseConfig(new ConfigReader({}), dataDir))
})

afterAll(async () => {
  await clickhouse.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const single: DdlOptions = {
  database: 'procstream',
  rawTtlDays: 7,
  tier10sTtlDays: 30,
  tier1mTtlDays: 365,
  tier1hTtlDays: 1825,
  dedupWindow: 100,
}

/** ClickHouse's canonical form of one statement, without executing it: throws on a syntax error. */
async function format(statement: string): Promise<string> {
  const rs = await clickhouse.query({
    query: 'SELECT formatQuerySingleLine({q:String}) AS f',
    query_params: { q: statement },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ f: string }>()
  return row?.f ?? ''
}

describe('the tenant SQL user’s statements', () => {
  for (const o of [single, { ...single, profile: 'cluster' as const, cluster: 'procstream' }]) {
    it(`parse as written (${o.profile ?? 'single'} profile), every table and policy kept`, async () => {
      const statements = tenantSqlAccessStatements(o, { name: 'procstream_sql', password: 'x'.repeat(20) })
      for (const s of statements) {
        const f = await format(s)
        // The engine's form keeps every name the statement gave: nothing was read as something else.
        for (const name of s.match(/procstream\.\w+|procstream_\w+/g) ?? []) expect(f, s).toContain(name)
      }
    })
  }
})
