/**
 * The exactly-once effect under crashes: the processor runs as its own process and is SIGKILLed at
 * random instants (mid-fetch, mid-insert, between insert and commit) while the agent streams at 20 Hz.
 * Afterwards every (agent, sequence) is stored exactly once, no value row is doubled, and every
 * rollup tier counts each raw row once.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createClickHouse } from '../../../platform/clickhouse.ts'
import { createKafka } from '../../../platform/kafka.ts'
import { createLogger } from '../../../platform/logger.ts'
import { ensureTopics } from '../../../deploy/local/kafka.ts'
import { killAllChildren, NodeChild } from '../../support/node-child.ts'
import { waitFor } from '../../support/wait-for.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'procstream-crash-'))
afterAll(async () => {
  await killAllChildren()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('processor killed at random instants', () => {
  it('loses and duplicates nothing', async () => {
    const brokers = process.env.KAFKA_BROKERS ?? ''
    const topic = `it-crash-${Date.now()}`
    const group = `${topic}-group`
    await ensureTopics(brokers.split(','), [{ name: topic, partitions: 3 }])
    const env = {
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC: topic,
      PROCESSOR_GROUP_ID: group,
      PROCSTREAM_DATA_DIR: dataDir,
      CLICKHOUSE_DATABASE: 'crash',
      // Small chunks: many insert/commit boundaries for the kills to land on.
      PROCESSOR_MAX_MESSAGES_PER_INSERT: '3',
      // A killed member's partitions move on after this long; the broker's minimum is 6 s.
      PROCESSOR_SESSION_TIMEOUT_MS: '6000',
    }
    const agent = NodeChild.start('agent/src/main.ts', [
      '--brokers',
      brokers,
      '--topic',
      topic,
      '--interval',
      '50',
      '--host-id',
      'crash-host',
    ])
    const startProcessor = (): NodeChild => NodeChild.start('stream-processors/src/main.ts', [], env)
    let processor = startProcessor()
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 2500 + Math.random() * 2000))
      await processor.kill()
      processor = startProcessor()
    }
    expect(await agent.stop()).toBe(0)
    const stopped = agent.logLines().find((l) => l.msg === 'agent stopped')
    const sent = Number(stopped?.sentRecords)
    expect(sent).toBeGreaterThan(500)

    // Caught up when the group's committed offsets reach the end of every partition.
    const admin = createKafka(
      brokers.split(','),
      'it-crash-admin',
      createLogger('it-crash', { level: 'error' }),
    ).admin()
    await admin.connect()
    await waitFor(
      'the processor to commit everything',
      async () => {
        const ends = await admin.fetchTopicOffsets(topic)
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
        // A partition no message went to has nothing to commit (its committed offset stays -1).
        const done = ends.every((e) => {
          const c = committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1'
          return e.high === '0' || c === e.high
        })
        return done ? true : undefined
      },
      120_000,
    )
    await admin.disconnect()
    await processor.stop()

    // The processor's chdb folder is free now: audit it from this process.
    const clickhouse = await createClickHouse({
      url: undefined,
      user: 'default',
      password: '',
      database: 'crash',
      embeddedPath: join(dataDir, 'clickhouse'),
    })
    try {
      const rs = await clickhouse.query({
        query: `SELECT
            (SELECT count() FROM crash.sample_log) AS envelopes,
            (SELECT uniqExact(agent_id, seq) FROM crash.sample_log) AS unique_envelopes,
            (SELECT max(seq) FROM crash.sample_log) AS max_seq,
            (SELECT sum(points) FROM crash.sample_log) AS points,
            (SELECT count() FROM crash.metrics_raw) AS raw_rows,
            (SELECT uniqExact(host, metric, labels, ts) FROM crash.metrics_raw) AS unique_raw_rows,
            (SELECT sum(value_count) FROM crash.metrics_10s) AS rows_10s,
            (SELECT sum(value_count) FROM crash.metrics_1m) AS rows_1m,
            (SELECT sum(value_count) FROM crash.metrics_1h) AS rows_1h`,
        format: 'JSONEachRow',
      })
      const [audit] = await rs.json<Record<string, string>>()
      expect(audit).toBeDefined()
      expect(Number(audit?.envelopes)).toBe(sent)
      expect(Number(audit?.unique_envelopes)).toBe(sent)
      expect(Number(audit?.max_seq)).toBe(sent - 1)
      expect(Number(audit?.raw_rows)).toBe(Number(audit?.points))
      expect(Number(audit?.unique_raw_rows)).toBe(Number(audit?.raw_rows))
      // Every rollup counted each raw row once, replays included.
      for (const tier of ['rows_10s', 'rows_1m', 'rows_1h'])
        expect(Number(audit?.[tier]), tier).toBe(Number(audit?.raw_rows))
    } finally {
      await clickhouse.close()
    }
  })
})
