import { randomBytes } from 'node:crypto'
import type { ClickHouseClient } from '@clickhouse/client'
import { tenantSqlAccessStatements, type TenantSqlUser } from './access.ts'
import {
  bootstrapStatements,
  MIGRATION_STEPS_TABLE,
  migrations,
  stagePrefix,
  type DdlOptions,
  type PartitionCopies,
} from './ddl.ts'

export interface MigrateOptions {
  tenantSqlUser?: TenantSqlUser | undefined
  /** Apply migrations up to this version only (tests that build a store of an earlier release). */
  upTo?: number
  /** Told of each partition a copying migration put in place (`<target>/<partition id>`, rows). */
  onPartition?: (event: PartitionEvent) => void | Promise<void>
}

export interface PartitionEvent {
  version: number
  step: string
  rows: number
  /** `staged`: filled, not yet swapped in; `replaced`: swapped in, not yet recorded; `recorded`. */
  phase: 'staged' | 'replaced' | 'recorded'
}

/**
 * Apply the migrations a database lacks, in order. Safe to run from several processes at once and on
 * every start: each statement is idempotent, each copied partition is swapped in whole (ddl.ts
 * PartitionCopies), and a version is recorded only after all its steps ran. In the cluster profile
 * each statement runs ON CLUSTER, so it returns once every node has run it (or fails when one has
 * not within the server's distributed_ddl_task_timeout), and the version is recorded in a table
 * every node replicates.
 */
export async function migrate(
  client: ClickHouseClient,
  options: DdlOptions,
  extra: MigrateOptions = {},
): Promise<number[]> {
  for (const query of bootstrapStatements(options.database, options)) await client.command({ query })
  const applied = new Set(
    (
      await rows<{ version: number }>(
        client,
        `SELECT version FROM ${options.database}.schema_migrations FINAL`,
      )
    ).map((r) => r.version),
  )
  const done: number[] = []
  for (const m of migrations(options)) {
    if (extra.upTo !== undefined && m.version > extra.upTo) break
    if (applied.has(m.version)) {
      // A process that died copying after another had finished the migration left its staging table.
      if (m.copies) await dropStages(client, options.database, m.version, m.copies)
      continue
    }
    for (const query of m.statements) await client.command({ query })
    if (m.copies && !(await copyPartitions(client, options, m.version, m.copies, extra))) continue
    await client.insert({
      table: `${options.database}.schema_migrations`,
      values: [{ version: m.version, description: m.description }],
      format: 'JSONEachRow',
    })
    done.push(m.version)
  }
  // Not a numbered migration: it follows the configured user and password on every start.
  if (extra.tenantSqlUser)
    for (const query of tenantSqlAccessStatements(options, extra.tenantSqlUser))
      await client.command({ query })
  return done
}

/**
 * Runs a migration's copies; false when another process finished the migration meanwhile (its
 * remaining steps are then that process's, already run). Per target partition: skipped when
 * recorded; otherwise filled into a staging table of this run, checked again (another process may
 * have put it in place meanwhile), swapped in, recorded. A crash leaves at most a staging table and
 * an unrecorded partition, which the next run fills and swaps in again: the swap sets the partition
 * to exactly the staged rows, so nothing is counted twice. Staging tables left by crashed runs are
 * dropped once every partition is recorded; a run still filling one then (a second process) fails
 * on it, finds the partition recorded and goes on.
 */
async function copyPartitions(
  client: ClickHouseClient,
  o: DdlOptions,
  version: number,
  copies: PartitionCopies,
  extra: MigrateOptions,
): Promise<boolean> {
  const db = o.database
  const run = randomBytes(4).toString('hex')
  const recorded = async (step: string): Promise<boolean> =>
    (
      await rows<{ n: string }>(
        client,
        `SELECT count() AS n FROM ${db}.${MIGRATION_STEPS_TABLE} FINAL WHERE version = {version:UInt32} AND step = {step:String}`,
        { version, step },
      )
    ).some((r) => Number(r.n) > 0)
  const finishedElsewhere = async (): Promise<boolean> =>
    (
      await rows<{ n: string }>(
        client,
        `SELECT count() AS n FROM ${db}.schema_migrations FINAL WHERE version = {version:UInt32}`,
        { version },
      )
    ).some((r) => Number(r.n) > 0)

  for (const copy of copies.tables) {
    if (!(await allExist(client, db, copy.sources))) continue
    for (const { partition_id } of await rows<{ partition_id: number | string }>(client, copy.partitions)) {
      const id = String(partition_id)
      if (!/^\d+$/.test(id)) throw new Error(`migration ${version}: unexpected partition id ${id}`)
      const step = `${copy.target}/${id}`
      if (await recorded(step)) continue
      if (await finishedElsewhere()) return false
      const stage = `${stagePrefix(version)}${copy.target}_${id}_${run}`
      let n = 0
      try {
        for (const query of copy.createStage(stage)) await client.command({ query })
        await client.command({ query: copy.fill(stage), query_params: { partition_id: Number(id) } })
        const [staged] = await rows<{ n: string }>(client, `SELECT count() AS n FROM ${db}.${stage}`)
        n = Number(staged?.n ?? 0)
        await extra.onPartition?.({ version, step, rows: n, phase: 'staged' })
        // Checked again just before the swap: a process that finished the migration meanwhile may
        // have processors writing this partition already, which a late swap would undo.
        if (await recorded(step)) continue
        if (await finishedElsewhere()) return false
        await client.command({ query: copy.replace(stage, id) })
        await extra.onPartition?.({ version, step, rows: n, phase: 'replaced' })
        await client.insert({
          table: `${db}.${MIGRATION_STEPS_TABLE}`,
          values: [{ version, step, rows: n }],
          format: 'JSONEachRow',
        })
      } catch (err) {
        // Another process put this partition in place and dropped this run's staging table under it.
        if (await recorded(step)) continue
        throw err
      } finally {
        for (const query of copies.dropStage(stage)) await client.command({ query })
      }
      // Only reached once this run recorded the partition (every other way out leaves the loop body).
      await extra.onPartition?.({ version, step, rows: n, phase: 'recorded' })
    }
  }
  // Staging tables of runs that died: every partition is in place, so none of them is needed.
  await dropStages(client, db, version, copies)
  for (const query of copies.afterwards) await client.command({ query })
  return true
}

async function dropStages(
  client: ClickHouseClient,
  db: string,
  version: number,
  copies: PartitionCopies,
): Promise<void> {
  const left = await rows<{ name: string }>(
    client,
    `SELECT name FROM system.tables WHERE database = {db:String} AND startsWith(name, {prefix:String})`,
    { db, prefix: stagePrefix(version) },
  )
  for (const stage of new Set(left.map((t) => t.name.replace(/_local$/, ''))))
    for (const query of copies.dropStage(stage)) await client.command({ query })
}

async function allExist(client: ClickHouseClient, db: string, tables: string[]): Promise<boolean> {
  const [r] = await rows<{ n: string }>(
    client,
    `SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name IN {tables:Array(String)}`,
    { db, tables },
  )
  return Number(r?.n) === tables.length
}

async function rows<T>(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' })
  return rs.json<T>()
}
