/**
 * The real agent, as a process, sending through the real gateway with a key of tenant acme while it
 * claims to be another tenant: every record lands under acme, and a gateway that goes away for a while
 * costs nothing (the agent spools and replays in order once a gateway answers on the same address).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { openGatewayTestbed, type GatewayTestbed } from '#test/support/gateway-testbed.ts'
import { outOfOrder, startGatewayAgent, spoolHasSegments } from '#test/support/gateway-agent.ts'
import type { NodeChild } from '#test/support/node-child.ts'
import { readTopic } from '#test/support/topic.ts'
import { waitFor } from '#test/support/wait-for.ts'

const HOST_ID = `gw-agent-${String(process.pid)}`
const OUTAGE_MS = 10_000

let bed: GatewayTestbed
let dir = ''
let agent: NodeChild | undefined

beforeAll(async () => {
  bed = await openGatewayTestbed('agent_gateway', { partitions: 1 })
  dir = await mkdtemp(join(tmpdir(), 'procstream-agent-gateway-'))
})

afterAll(async () => {
  await agent?.kill()
  await bed.close()
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('agent → ingest gateway', () => {
  it(
    'lands every sample once, in order, under the key’s tenant, across a gateway outage',
    { timeout: 180_000 },
    async () => {
      const { brokers } = bed
      const topic = bed.config.topic
      const port = new URL(bed.gateway.url).port
      const started = await startGatewayAgent(bed, {
        dir,
        hostId: HOST_ID,
        tenant: 'acme',
        extraArgs: ['--tenant', 'intruder'],
      })
      agent = started.agent
      const { spoolDir } = started

      await bed.gateway.stop()
      const outageStartUs = Date.now() * 1000
      await sleep(OUTAGE_MS)
      const outageEndUs = Date.now() * 1000
      expect(await spoolHasSegments(spoolDir)).toBe(true)
      expect(agent.running).toBe(true)
      await bed.startGateway({ INGEST_PORT: port })
      await waitFor(
        'the spool to drain',
        async () => ((await spoolHasSegments(spoolDir)) ? undefined : true),
        60_000,
      )
      await sleep(1_000)
      expect(await agent.stop()).toBe(0)
      const stopped = agent.logLines().find((l) => l.msg === 'agent stopped')
      expect(stopped).toMatchObject({ droppedRecords: 0, queuedRecords: 0, spooledRecords: 0 })

      const messages = await readTopic(brokers, topic)
      expect(new Set(messages.map((m) => m.key))).toEqual(new Set([`acme/${HOST_ID}`]))
      const codec = envelopeCodec()
      const envelopes = messages.flatMap((m) => codec.decodeAll(m.value))
      expect(new Set(envelopes.map((e) => e.tenant))).toEqual(new Set(['acme']))
      expect(envelopes.length).toBe(Number(stopped?.sentRecords))
      // In topic order each seq above the one before (else the processor drops it), named if not.
      expect(outOfOrder(envelopes)).toEqual([])
      // Exactly 0, 1, …, N-1: nothing lost, nothing twice, in order.
      expect(envelopes.findIndex((e, i) => e.seq !== i)).toBe(-1)
      // The ~100 ticks taken while no gateway answered were kept and sent afterwards.
      const ticks = envelopes
        .filter((e) => e.ts_us > outageStartUs && e.ts_us < outageEndUs)
        .map((e) => e.ts_us)
      expect(new Set(ticks).size).toBeGreaterThan((OUTAGE_MS / 100) * 0.8)
    },
  )
})
