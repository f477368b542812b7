/**
 * The all-in-one's ingest gateway as a process of its own (gateway-process.ts): it reads keys from
 * this process's embedded ClickHouse over loopback, produces to the real broker, comes back after
 * being killed outright, and leaves nothing running once stopped.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeyStore } from '#platform/auth/key-store.ts'
import { createLogger } from '#platform/logger.ts'
import { migrate } from '#schemas/clickhouse/migrate.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { ddlOptions } from '../../../stream-processors/src/service.ts'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { openProcessorTestbed, type ProcessorTestbed } from '#test/support/processor-testbed.ts'
import { readTopic } from '#test/support/topic.ts'
import { waitFor } from '#test/support/wait-for.ts'
import { startGatewayProcess, type GatewayProcess } from '../../gateway-process.ts'
import { findFreePorts } from '../../../deploy/local/ports.ts'

const REPO_ROOT = join(import.meta.dirname, '../../..')
const codec = envelopeCodec()
let bed: ProcessorTestbed
let gateway: GatewayProcess
let key = ''
const dataDir = mkdtempSync(join(tmpdir(), 'procstream-gw-'))

beforeAll(async () => {
  bed = await openProcessorTestbed('gateway-process', { partitions: 2 })
  await migrate(bed.clickhouse, ddlOptions(bed.config))
  const store = new KeyStore(bed.clickhouse, bed.config.clickhouse.database)
  await store.createTenant('acme')
  key = (await store.createKey({ tenant: 'acme', scopes: ['ingest'] })).key
  const [port] = await findFreePorts(1)
  gateway = await startGatewayProcess({
    repoRoot: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      PROCSTREAM_DATA_DIR: dataDir,
      KAFKA_BROKERS: bed.brokers.join(','),
      KAFKA_TOPIC: bed.config.topic,
      CLICKHOUSE_DATABASE: bed.config.clickhouse.database,
      INGEST_HOST: '127.0.0.1',
      INGEST_PORT: String(port),
      AUTH_KEYS_REFRESH_MS: '500',
      LOG_LEVEL: 'warn',
    },
    embeddedPath: bed.config.clickhouse.embeddedPath,
    url: `http://127.0.0.1:${String(port)}`,
    logFile: join(dataDir, 'gateway.log'),
    logger: createLogger('it-gateway-process', { level: 'silent' }),
  })
})

afterAll(async () => {
  await gateway.stop()
  await bed.close()
  rmSync(dataDir, { recursive: true, force: true })
})

async function send(seq: number): Promise<number> {
  const res = await fetch(`${gateway.url}/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/vnd.procstream.avro' },
    body: codec.encode(loadEnvelope({ host_id: 'web-1', seq, ts_us: Date.now() * 1000 })),
  })
  await res.body?.cancel()
  return res.status
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('the all-in-one gateway process', () => {
  it('takes a key from the core’s ClickHouse, is restarted after a SIGKILL, and stops cleanly', async () => {
    expect(await send(1)).toBe(202)
    const first = gateway.pid()
    process.kill(first, 'SIGKILL')
    await waitFor('the gateway to come back', async () =>
      gateway.restarts() === 1 && (await send(2).catch(() => 0)) === 202 ? true : undefined,
    )
    expect(gateway.pid()).not.toBe(first)
    const records = await readTopic(bed.brokers, bed.config.topic)
    expect(records.length).toBeGreaterThanOrEqual(2)
    const last = gateway.pid()
    await gateway.stop()
    expect(alive(last)).toBe(false)
    // Stopped means stopped: no restart follows.
    await new Promise((r) => setTimeout(r, 2_500))
    expect(gateway.restarts()).toBe(1)
  })
})
