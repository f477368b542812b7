/**
 * The embedded client's session pool: statements run at once instead of queueing behind one
 * session, over one data folder.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouse } from '../../clickhouse.ts'

const dir = mkdtempSync(join(tmpdir(), 'procstream-pool-'))
let clickhouse: ClickHouseClient

beforeAll(async () => {
  clickhouse = await createClickHouse({
    url: undefined,
    user: 'default',
    password: '',
    database: 'pool',
    embeddedPath: dir,
    embeddedSessions: 2,
  })
})

afterAll(async () => {
  await clickhouse.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('embedded session pool', () => {
  it('answers a quick query while a slow one runs', async () => {
    const finished: string[] = []
    const slow = clickhouse
      .query({ query: 'SELECT sleep(1.5) AS s', format: 'JSONEachRow' })
      .then(() => finished.push('slow'))
    await new Promise((r) => setTimeout(r, 100))
    await clickhouse.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then(() => finished.push('quick'))
    await slow
    // Through one session the quick query would wait its turn behind the slow one.
    expect(finished).toEqual(['quick', 'slow'])
  })

  it('shares one data folder across its sessions', async () => {
    await clickhouse.command({ query: 'CREATE DATABASE IF NOT EXISTS pool' })
    await clickhouse.command({ query: 'CREATE TABLE pool.t (x UInt32) ENGINE = MergeTree ORDER BY x' })
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        clickhouse.insert({ table: 'pool.t', values: [[i]], format: 'JSONCompactEachRow' }),
      ),
    )
    const rs = await clickhouse.query({
      query: 'SELECT groupArray(x) AS xs FROM (SELECT x FROM pool.t ORDER BY x)',
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ xs: [0, 1, 2, 3, 4, 5] }])
  })
})
