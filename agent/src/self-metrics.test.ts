import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { Sample } from '#schemas/src/families.ts'
import { toMetricPoints } from '#schemas/src/node-exporter.ts'
import { envelopeOf } from './envelope.ts'
import { formatPrometheus } from './format/prometheus.ts'
import { startMetricsServer } from '#platform/metrics-server.ts'
import { Sampler } from './sampler.ts'
import { SelfMetrics } from './self-metrics.ts'
import type { SinkStats } from './sink/spooling-sink.ts'

const LIVE_T0 = fileURLToPath(new URL('./collectors/__fixtures__/live-t0/proc/', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const SINK: SinkStats = {
  queuedRecords: 3,
  queuedBytes: 300,
  spooledRecords: 2,
  spooledBytes: 4096,
  sentRecords: 40,
  sentMessages: 4,
  sentBytes: 9000,
  sendErrors: 1,
  refusedRecords: 0,
  droppedRecords: 5,
}

/** A sampler over a copy of the fixture tree whose /proc/meminfo ends in a garbled line. */
function garbledSampler(): Sampler {
  const dir = mkdtempSync(join(tmpdir(), 'self-metrics-'))
  dirs.push(dir)
  cpSync(LIVE_T0, dir, { recursive: true })
  appendFileSync(join(dir, 'meminfo'), 'Garbage: twelve kB\n')
  return new Sampler(dir, () => undefined, {
    statfs: () => ({ bsize: 1, blocks: 1, bfree: 1, bavail: 1, files: 1, ffree: 1 }),
  })
}

describe('SelfMetrics', () => {
  it('reports samples, per-family parse errors, collection time and the sink’s counters', () => {
    const sampler = garbledSampler()
    const self = new SelfMetrics(
      { sampler: () => sampler.stats, ticks: () => ({ late: 2, missed: 1 }), sink: () => SINK },
      1_700_000_000_000,
    )
    for (let i = 0; i < 3; i++) self.timeCollection(() => sampler.sample('memory'))
    self.timeCollection(() => sampler.sample('cpu'))
    const s = self.sample()
    expect(s).toMatchObject({
      start_time_us: 1_700_000_000_000_000,
      samples: 4,
      ticks_late: 2,
      ticks_missed: 1,
      records_sent: 40,
      messages_sent: 4,
      bytes_sent: 9000,
      send_errors: 1,
      queued_records: 3,
      queued_bytes: 300,
      spool_records: 2,
      spool_bytes: 4096,
      dropped_records: 5,
    })
    expect(s.parse_errors).toMatchObject({ memory: 3, cpu: 0, vmstat: 0 })
    expect(s.read_errors.memory).toBe(0)
    expect(s.collect_seconds).toBeGreaterThan(0)
    expect(s.cpu_seconds).toBeGreaterThan(0)
    expect(s.resident_memory_bytes).toBeGreaterThan(1024 * 1024)
    sampler.close()
  })

  it('encodes as the agent family and maps to procstream_agent_* series', () => {
    const sampler = garbledSampler()
    sampler.sample('memory')
    const self = new SelfMetrics(
      { sampler: () => sampler.stats, ticks: () => ({ late: 0, missed: 0 }) },
      1_000,
    )
    const data = self.sample()
    const codec = envelopeCodec()
    const origin = { tenant: 't', id: { hostId: 'h', hostname: 'h', agentId: 'a' } }
    const [decoded] = codec.decodeAll(
      codec.encode(envelopeOf(origin, 0, 1, 10_000, { family: 'agent', data })),
    )
    expect(decoded?.sample).toEqual({ family: 'agent', data })
    const points: [string, Record<string, string>, number][] = []
    toMetricPoints('agent', data, (name, labels, value) => points.push([name, labels, value]))
    expect(points).toContainEqual(['procstream_agent_samples_total', {}, 1])
    expect(points).toContainEqual(['procstream_agent_start_time_seconds', {}, 1])
    expect(points).toContainEqual(['procstream_agent_parse_errors_total', { family: 'memory' }, 1])
    expect(points).toContainEqual(['procstream_agent_records_sent_total', {}, 0])
    sampler.close()
  })
})

describe('agent /metrics endpoint', () => {
  it('serves the current self-metrics in the Prometheus text format and nothing else', async () => {
    let samples = 0
    const idle = new Sampler('/nonexistent', () => undefined).stats
    const self = new SelfMetrics({
      sampler: () => ({ ...idle, samples: ++samples }),
      ticks: () => ({ late: 0, missed: 0 }),
    })
    const sample = (): Sample => ({ family: 'agent', data: self.sample() })
    const server = await startMetricsServer('127.0.0.1', 0, () => formatPrometheus([sample()]))
    try {
      const url = `http://${server.address}`
      const first = await fetch(`${url}/metrics`)
      expect(first.status).toBe(200)
      expect(first.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
      const text = await first.text()
      expect(text).toContain(
        '# TYPE procstream_agent_samples_total counter\nprocstream_agent_samples_total 1\n',
      )
      expect(text).toContain('procstream_agent_parse_errors_total{family="cpu"} 0\n')
      // Built fresh per scrape.
      expect(await (await fetch(`${url}/metrics`)).text()).toContain('procstream_agent_samples_total 2\n')
      expect((await fetch(`${url}/`)).status).toBe(404)
      expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405)
      expect(formatPrometheus([sample()])).toContain('procstream_agent_samples_total 3\n')
    } finally {
      await server.close()
    }
  })
})
