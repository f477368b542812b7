import type { ClickHouseClient } from '@clickhouse/client'
import { expect } from 'vitest'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { waitFor } from './wait-for.ts'

/** Waits until the group's committed offsets reach the end of every partition of the topic. */
export async function waitForGroupCaughtUp(
  brokers: string[],
  topic: string,
  groupId: string,
  timeoutMs = 120_000,
): Promise<void> {
  const admin = createKafka(brokers, 'it-audit-admin', createLogger('it-audit', { level: 'error' })).admin()
  await admin.connect()
  try {
    await waitFor(
      'the group to commit everything',
      async () => {
        const ends = await admin.fetchTopicOffsets(topic)
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
        // A partition no message went to has nothing to commit (its committed offset stays -1).
        const done = ends.every((e) => {
          const c = committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1'
          return e.high === '0' || c === e.high
        })
        return done ? true : undefined
      },
      timeoutMs,
    )
  } finally {
    await admin.disconnect()
  }
}

/**
 * The exactly-once audit of one database: every acknowledged envelope is in the sample log once, its
 * values are in raw once each, and every rollup tier counted each raw row once.
 */
export async function expectStoredExactlyOnce(
  clickhouse: ClickHouseClient,
  database: string,
  sentEnvelopes: number,
  tierCatchUpMs = 60_000,
): Promise<void> {
  const read = async (): Promise<Record<string, string> | undefined> => {
    const rs = await clickhouse.query({
      query: `SELECT
        (SELECT count() FROM ${database}.sample_log) AS envelopes,
        (SELECT uniqExact(agent_id, seq) FROM ${database}.sample_log) AS unique_envelopes,
        (SELECT sum(points) FROM ${database}.sample_log) AS points,
        (SELECT count() FROM ${database}.points) AS raw_rows,
        (SELECT uniqExact(series_id, ts) FROM ${database}.points) AS unique_raw_rows,
        (SELECT sum(value_count) FROM ${database}.points_10s) AS rows_10s,
        (SELECT sum(value_count) FROM ${database}.points_1m) AS rows_1m,
        (SELECT sum(value_count) FROM ${database}.points_1h) AS rows_1h`,
      format: 'JSONEachRow',
    })
    return (await rs.json<Record<string, string>>())[0]
  }
  const TIERS = ['rows_10s', 'rows_1m', 'rows_1h']
  // The tiers are fed apart from raw, in batches of PROCESSOR_TIER_BATCH_MS (tier-feeder.ts): they
  // may trail raw for a while, never pass it.
  let audit = await read()
  const deadline = Date.now() + tierCatchUpMs
  while (
    audit !== undefined &&
    Date.now() < deadline &&
    TIERS.some((t) => Number(audit?.[t]) < Number(audit?.raw_rows)) &&
    TIERS.every((t) => Number(audit?.[t]) <= Number(audit?.raw_rows))
  ) {
    await new Promise((r) => setTimeout(r, 250))
    audit = await read()
  }
  expect(audit).toBeDefined()
  expect(Number(audit?.envelopes)).toBe(sentEnvelopes)
  expect(Number(audit?.unique_envelopes)).toBe(sentEnvelopes)
  expect(Number(audit?.raw_rows)).toBe(Number(audit?.points))
  expect(Number(audit?.unique_raw_rows)).toBe(Number(audit?.raw_rows))
  for (const tier of TIERS) expect(Number(audit?.[tier]), tier).toBe(Number(audit?.raw_rows))
}
