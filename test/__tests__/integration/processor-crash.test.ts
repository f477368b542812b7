/**
 * The exactly-once effect under crashes: the processor runs as its own process and is SIGKILLed at
 * random instants (mid-fetch, mid-insert, between insert and commit) while the agent streams at 20 Hz.
 * Afterwards every (agent, sequence) is stored exactly once, no value row is doubled, and every
 * rollup tier counts each raw row once.
 */
import { tierGroupId } from '../../../stream-processors/src/tier-feeder.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createClickHouse } from '#platform/clickhouse.ts'
import { ensureTopics } from '../../../deploy/local/kafka.ts'
import { killAllChildren, NodeChild } from '../../support/node-child.ts'
import { expectStoredExactlyOnce, waitForGroupCaughtUp } from '../../support/pipeline-audit.ts'

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

    await waitForGroupCaughtUp(brokers.split(','), topic, group)
    // The tier feeder's group too: the tiers trail raw by a batch (stream-processors/src/tier-feeder.ts).
    await waitForGroupCaughtUp(brokers.split(','), topic, tierGroupId(group))
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
      await expectStoredExactlyOnce(clickhouse, 'crash', sent)
      const rs = await clickhouse.query({
        query: 'SELECT max(seq) AS m FROM crash.sample_log',
        format: 'JSONEachRow',
      })
      const [row] = await rs.json<{ m: string | number }>()
      expect(Number(row?.m)).toBe(sent - 1)
    } finally {
      await clickhouse.close()
    }
  })
})
