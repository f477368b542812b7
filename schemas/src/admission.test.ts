import { describe, expect, it } from 'vitest'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { AdmissionRule, MAX_INTERVAL_MS, MAX_RECORD_BYTES, MIN_INTERVAL_MS } from './admission.ts'
import { envelopeCodec } from './codec.ts'
import type { Envelope } from './families.ts'
import type { MetricFamilyRecord } from './records.ts'

const codec = envelopeCodec()
const bounds = { maxAgeMs: 7 * 86_400_000, maxLeadMs: 300_000 }
const rule = new AdmissionRule(codec.readerType, bounds)
const T = 1_795_000_000_000
const env = (over: Partial<Envelope> = {}, load1 = 0.5): Envelope =>
  loadEnvelope({ ts_us: T * 1000, ...over }, load1)
const check = (e: Envelope, bytes = 100) => rule.check(e, bytes, T)

const metricsEnv = (metrics: MetricFamilyRecord[], collector = 'netclass'): Envelope =>
  env({ sample: { family: 'metrics', data: { collector, metrics } } })
const gauge = (name: string, labels: Record<string, string> = {}, value = 1): MetricFamilyRecord => ({
  name,
  type: 'GAUGE',
  series: [{ labels, value }],
})

describe('AdmissionRule: names in a metrics record', () => {
  it('admits node_exporter-shaped families', () => {
    expect(
      check(
        metricsEnv([
          gauge('node_network_up', { device: 'eth0' }),
          gauge('node_hwmon_temp_celsius', { chip: 'platform_coretemp_0', sensor: 'temp1' }, 41.5),
          { name: 'node_network_carrier_changes_total', type: 'COUNTER', series: [] },
        ]),
      ),
    ).toBeUndefined()
  })

  it('refuses a name Prometheus would not accept, naming where it is', () => {
    const cases: [Envelope, string, RegExp][] = [
      [metricsEnv([gauge('node up')]), 'sample.metrics[0].name', /not a Prometheus metric name/],
      [metricsEnv([gauge('1node')]), 'sample.metrics[0].name', /not a Prometheus metric name/],
      [metricsEnv([gauge('n'.repeat(201))]), 'sample.metrics[0].name', /at most 200/],
      [metricsEnv([gauge('node_a'), gauge('node_a')]), 'sample.metrics[1].name', /twice/],
      [
        metricsEnv([gauge('node_a', { 'de-vice': 'x' })]),
        'sample.metrics[0].series[0].labels',
        /not a label/,
      ],
      [metricsEnv([gauge('node_a', { __name__: 'x' })]), 'sample.metrics[0].series[0].labels', /not a label/],
      // Given to every series when read: a stored one would be overwritten or shadow the host.
      [metricsEnv([gauge('node_a', { instance: 'x' })]), 'sample.metrics[0].series[0].labels', /not a label/],
      [
        metricsEnv([gauge('node_a', { device: 'x'.repeat(1025) })]),
        'sample.metrics[0].series[0].labels["device"]',
        /longer than 1024/,
      ],
      [
        metricsEnv([
          gauge('node_a', Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${String(i)}`, '']))),
        ]),
        'sample.metrics[0].series[0].labels',
        /33 labels/,
      ],
      [metricsEnv([], 'Net Class'), 'sample.collector', /collector name/],
    ]
    for (const [e, field, detail] of cases) {
      const r = check(e)
      expect(r?.reason, field).toBe('INVALID_NAME')
      expect(r?.field).toBe(field)
      expect(r?.detail).toMatch(detail)
    }
  })

  it('judges values in a metrics record as everywhere', () => {
    expect(check(metricsEnv([gauge('node_a', {}, Number.NaN)]))).toMatchObject({
      reason: 'NON_FINITE_VALUE',
      field: 'sample.metrics[0].series[0].value',
    })
  })
})

describe('AdmissionRule', () => {
  it('admits a sample within every bound, up to the edges', () => {
    expect(check(env())).toBeUndefined()
    expect(check(env({ ts_us: (T - bounds.maxAgeMs) * 1000 }))).toBeUndefined()
    expect(check(env({ ts_us: (T + bounds.maxLeadMs) * 1000 }))).toBeUndefined()
    expect(check(env({ interval_ms: MIN_INTERVAL_MS }))).toBeUndefined()
    expect(check(env({ interval_ms: MAX_INTERVAL_MS }))).toBeUndefined()
    expect(check(env({ seq: Number.MAX_SAFE_INTEGER }))).toBeUndefined()
    expect(check(env(), MAX_RECORD_BYTES)).toBeUndefined()
  })

  it('refuses samples too old, too far ahead, or absurd, against the reference time', () => {
    for (const tsMs of [T - bounds.maxAgeMs - 1, T + bounds.maxLeadMs + 1, 0, -1e12]) {
      const r = check(env({ ts_us: tsMs * 1000 }))
      expect(r?.reason, String(tsMs)).toBe('TIMESTAMP_OUT_OF_BOUNDS')
      expect(r?.field).toBe('ts_us')
    }
  })

  it('refuses an interval outside the agent’s bounds (ts 0 with interval 2^40, issue 22)', () => {
    expect(check(env({ interval_ms: MIN_INTERVAL_MS - 1 }))).toMatchObject({
      reason: 'VALUE_OUT_OF_RANGE',
      field: 'interval_ms',
    })
    expect(check(env({ interval_ms: MAX_INTERVAL_MS + 1 }))?.field).toBe('interval_ms')
    // Not an int at all: the value's type is judged before its meaning.
    expect(check(env({ ts_us: 0, interval_ms: 2 ** 40 }))).toMatchObject({
      reason: 'VALUE_OUT_OF_RANGE',
      field: 'interval_ms',
      detail: expect.stringContaining('does not fit int') as unknown,
    })
  })

  it('refuses non-finite numbers anywhere, naming the field', () => {
    expect(check(env({}, Number.NaN))).toMatchObject({ reason: 'NON_FINITE_VALUE', field: 'sample.load1' })
    expect(check(env({}, Number.POSITIVE_INFINITY))?.field).toBe('sample.load1')
    // An int read as Infinity (an overlong varint of an older writer, issue 22).
    const inf = env()
    if (inf.sample.family !== 'load') throw new Error('a load sample')
    inf.sample.data.threads_running = Number.POSITIVE_INFINITY
    expect(check(inf)).toMatchObject({ reason: 'NON_FINITE_VALUE', field: 'sample.threads_running' })
    const cpu: Envelope = {
      ...env(),
      sample: {
        family: 'cpu',
        data: {
          user_hz: 100,
          cpus: [0, 1].map((cpu) => ({
            cpu,
            user: 1,
            nice: 0,
            system: 0,
            idle: cpu === 1 ? Number.NEGATIVE_INFINITY : 0,
            iowait: 0,
            irq: 0,
            softirq: 0,
            steal: 0,
            guest: 0,
            guest_nice: 0,
          })),
          intr: 0,
          ctxt: 0,
          btime: 0,
          processes: 0,
          procs_running: 0,
          procs_blocked: 0,
        },
      },
    }
    expect(check(cpu)).toMatchObject({ reason: 'NON_FINITE_VALUE', field: 'sample.cpus[1].idle' })
  })

  it('refuses a value that does not fit its reader type exactly', () => {
    expect(check(env({ seq: 2 ** 53 }))).toMatchObject({ reason: 'VALUE_OUT_OF_RANGE', field: 'seq' })
    expect(check(env({ seq: -(2 ** 53) }))?.field).toBe('seq')
    expect(check(env({ seq: 1.5 }))?.detail).toContain('not a whole number')
    const big = env()
    if (big.sample.family !== 'load') throw new Error('a load sample')
    big.sample.data.last_pid = 2 ** 31
    expect(check(big)).toMatchObject({ reason: 'VALUE_OUT_OF_RANGE', field: 'sample.last_pid' })
    const vm: Envelope = {
      ...env(),
      sample: { family: 'vmstat', data: { fields: { a: 1, 'b c': 2 ** 60 } } },
    }
    expect(check(vm)).toMatchObject({ reason: 'VALUE_OUT_OF_RANGE', field: 'sample.fields["b c"]' })
  })

  it('refuses a record over the broker’s message limit and a host_id out of bounds', () => {
    expect(check(env(), MAX_RECORD_BYTES + 1)).toMatchObject({ reason: 'RECORD_TOO_LARGE', field: 'record' })
    expect(check(env({ host_id: '' }))).toMatchObject({ reason: 'VALUE_OUT_OF_RANGE', field: 'host_id' })
    expect(check(env({ host_id: 'h'.repeat(256) }))?.field).toBe('host_id')
  })
})
