/**
 * Scale-out across OS processes: two processor processes share the partitions of one group, both
 * writing through the storage server (the embedded engine served over ClickHouse's HTTP interface),
 * while a simulated fleet streams. One joins mid-stream; then the first is SIGKILLed mid-stream and
 * its partitions, uncommitted chunks included, move to the survivor. Afterwards every (agent, seq) is
 * stored exactly once and every rollup tier counts each raw row once.
 */
import { tierGroupId } from '../../../stream-processors/src/tier-feeder.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@clickhouse/client'
import { afterAll, describe, expect, it } from 'vitest'
import { ensureTopics } from '../../../deploy/local/kafka.ts'
import { findFreePorts } from '../../../deploy/local/ports.ts'
import { createKafka } from '#platform/kafka.ts'
import { sampleKey } from '#schemas/src/kafka-topic.ts'
import { createLogger } from '#platform/logger.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { killAllChildren, NodeChild } from '../../support/node-child.ts'
import { expectStoredExactlyOnce, waitForGroupCaughtUp } from '../../support/pipeline-audit.ts'
import { parsePrometheusText } from '../../support/prometheus-text.ts'
import { waitFor } from '../../support/wait-for.ts'

const logger = createLogger('it-scale-out', { level: 'error' })
const HOSTS = 24
const PASSWORD = 'scale-out-secret'
const dataDir = mkdtempSync(join(tmpdir(), 'procstream-scale-'))

afterAll(async () => {
  await killAllChildren()
  rmSync(dataDir, { recursive: true, force: true })
})

/** A fleet of HOSTS agents, each sending one load envelope per tick under its own key, until stopped. */
function streamFleet(brokers: string[], topic: string): { stop: () => Promise<number> } {
  const codec = envelopeCodec()
  const producer = createKafka(brokers, 'it-scale-fleet', logger).producer({
    idempotent: true,
    maxInFlightRequests: 1,
  })
  const state = { running: true }
  let sent = 0
  const done = (async () => {
    await producer.connect()
    for (let seq = 0; state.running; seq++) {
      const messages = Array.from({ length: HOSTS }, (_, h) => {
        const host = `host-${String(h)}`
        return {
          key: sampleKey('acme', host),
          value: codec.encode({
            tenant: 'acme',
            host_id: host,
            hostname: host,
            agent_id: `agent-${String(h)}`,
            seq,
            ts_us: Date.now() * 1000,
            interval_ms: 100,
            sample: {
              family: 'load',
              data: { load1: seq, load5: 0, load15: 0, threads_running: 1, threads_total: 9, last_pid: h },
            },
          }),
        }
      })
      await producer.send({ topic, acks: -1, messages })
      sent += messages.length
      await new Promise((r) => setTimeout(r, 100))
    }
    await producer.disconnect()
  })()
  return {
    stop: async () => {
      state.running = false
      await done
      return sent
    },
  }
}

/** Messages a processor process has consumed, from its own /metrics. */
async function consumed(metricsPort: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  const series = parsePrometheusText(await res.text())
  let total = 0
  for (const [key, value] of series) if (key.startsWith('procstream_processor_messages_total')) total += value
  return total
}

describe('two processor processes over the storage server', () => {
  it('share the partitions and lose or repeat nothing across a join and a crash', async () => {
    const brokers = (process.env.KAFKA_BROKERS ?? '').split(',')
    const topic = `it-scale-${Date.now()}`
    const group = `${topic}-group`
    await ensureTopics(brokers, [{ name: topic, partitions: 6 }])

    const [storagePort = 0] = await findFreePorts(1)
    const storage = NodeChild.start('storage/src/main.ts', [], {
      STORAGE_PORT: String(storagePort),
      PROCSTREAM_DATA_DIR: dataDir,
      CLICKHOUSE_PASSWORD: PASSWORD,
    })
    await waitFor('the storage server', () =>
      Promise.resolve(storage.logLines().some((l) => l.msg === 'storage serving') ? true : undefined),
    )
    const startProcessor = async (): Promise<{ child: NodeChild; metricsPort: number }> => {
      const [metricsPort = 0] = await findFreePorts(1)
      const child = NodeChild.start('stream-processors/src/main.ts', [], {
        KAFKA_BROKERS: brokers.join(','),
        KAFKA_TOPIC: topic,
        PROCESSOR_GROUP_ID: group,
        CLICKHOUSE_URL: `http://127.0.0.1:${storagePort}`,
        CLICKHOUSE_PASSWORD: PASSWORD,
        CLICKHOUSE_DATABASE: 'scale',
        PROCESSOR_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
        // Small chunks, so the join and the kill land between intents, inserts and commits.
        PROCESSOR_MAX_MESSAGES_PER_INSERT: '4',
        // A killed member's partitions move on after this long; the broker's minimum is 6 s.
        PROCESSOR_SESSION_TIMEOUT_MS: '6000',
      })
      await waitFor('a processor process to run', () =>
        Promise.resolve(child.logLines().some((l) => l.msg === 'processor running') ? true : undefined),
      )
      return { child, metricsPort }
    }

    // The first one alone migrates the schema: the second starts against an up-to-date one.
    const a = await startProcessor()
    const fleet = streamFleet(brokers, topic)
    await new Promise((r) => setTimeout(r, 3_000))
    const b = await startProcessor()
    await waitFor('the second process to get partitions', async () =>
      (await consumed(b.metricsPort)) > 0 ? true : undefined,
    )
    const aBefore = await consumed(a.metricsPort)
    await new Promise((r) => setTimeout(r, 2_000))
    expect(await consumed(a.metricsPort)).toBeGreaterThan(aBefore) // both consume at the same time

    await a.child.kill()
    await new Promise((r) => setTimeout(r, 8_000)) // past the session timeout: B owns all six now
    const sent = await fleet.stop()
    expect(sent).toBeGreaterThan(HOSTS * 80)
    await waitForGroupCaughtUp(brokers, topic, group)
    // The tier feeder's group too: the tiers trail raw by a batch (stream-processors/src/tier-feeder.ts).
    await waitForGroupCaughtUp(brokers, topic, tierGroupId(group))
    expect(await b.child.stop()).toBe(0)

    const clickhouse = createClient({ url: `http://127.0.0.1:${storagePort}`, password: PASSWORD })
    try {
      await expectStoredExactlyOnce(clickhouse, 'scale', sent)
      const rs = await clickhouse.query({
        query: `SELECT countIf(seq = 0) AS firsts, (SELECT count() FROM scale.points) AS raw
                FROM scale.sample_log`,
        format: 'JSONEachRow',
      })
      const [row] = await rs.json<{ firsts: string | number; raw: string | number }>()
      expect(Number(row?.firsts)).toBe(HOSTS)
      expect(Number(row?.raw)).toBe(sent * 3) // load1, load5, load15 per envelope
    } finally {
      await clickhouse.close()
      expect(await storage.stop()).toBe(0)
    }
  })
})
