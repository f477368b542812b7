import { describe, expect, it } from 'vitest'
import { SyntheticHost } from '../../loadtest/src/synthetic-host.ts'
import type { Sample } from '#schemas/src/families.ts'
import { samplePoints } from '#schemas/src/node-exporter.ts'
import { hostSnapshot } from '../../loadtest/src/host-snapshot.ts'
import { BodyWriter, HostSeriesText, valueSuffix } from './fleet-text.ts'

const TS = 1_767_225_600_000

function expected(
  samples: readonly Sample[],
): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = []
  for (const s of samples)
    samplePoints(s, (name, labels, value) => out.push({ name, labels: { ...labels }, value }))
  return out
}

describe('VictoriaMetrics import bodies of a simulated host', () => {
  const host = new SyntheticHost(7, hostSnapshot())
  host.advance(1)

  it('has one Prometheus text line per value the processor stores, same names, labels and values', () => {
    const writer = new BodyWriter()
    const text = new HostSeriesText(host.id.hostId, 'prometheus')
    const n = text.render(host.samples, valueSuffix('prometheus', TS), writer)
    const lines = writer.take().toString('utf8').trimEnd().split('\n')
    const points = expected(host.samples)
    expect(n).toBe(points.length)
    expect(lines).toHaveLength(points.length)
    lines.forEach((line, i) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+) (\d+)$/.exec(line)
      const p = points[i] as (typeof points)[number]
      expect(m?.[1]).toBe(p.name)
      const labels = Object.fromEntries(
        [...(m?.[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((x): [string, string] => [
          x[1] ?? '',
          x[2] ?? '',
        ]),
      )
      const want = Object.fromEntries(Object.entries(p.labels).filter(([, v]) => v !== ''))
      expect(labels).toEqual({ ...want, host: 'sim-000007' })
      expect(Number(m?.[3])).toBe(p.value)
      expect(Number(m?.[4])).toBe(TS)
    })
  })

  it('writes JSON lines that parse back to the same series and value', () => {
    const writer = new BodyWriter()
    new HostSeriesText(host.id.hostId, 'jsonl').render(host.samples, valueSuffix('jsonl', TS), writer)
    const rows = writer
      .take()
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] })
    const points = expected(host.samples)
    expect(rows).toHaveLength(points.length)
    expect(rows[0]?.metric.__name__).toBe(points[0]?.name)
    expect(rows[0]?.metric.host).toBe('sim-000007')
    expect(rows.map((r) => r.values[0])).toEqual(points.map((p) => p.value))
    expect(rows.every((r) => r.timestamps[0] === TS)).toBe(true)
  })

  it('escapes quotes, backslashes and newlines in label values', () => {
    const network = host.samples.find((s) => s.family === 'network')
    expect(network).toBeDefined()
    const odd = structuredClone(network) as Extract<Sample, { family: 'network' }>
    const first = odd.data.interfaces[0]
    expect(first).toBeDefined()
    if (first) first.device = 'we"ird\\eth\n0'
    const writer = new BodyWriter()
    new HostSeriesText('h', 'prometheus').render([odd], valueSuffix('prometheus', TS), writer)
    expect(writer.take().toString('utf8')).toContain('device="we\\"ird\\\\eth\\n0"')
  })

  it('rebuilds a series prefix when a position holds another series than last time', () => {
    const text = new HostSeriesText(host.id.hostId, 'prometheus')
    const writer = new BodyWriter()
    text.render(host.samples, valueSuffix('prometheus', TS), writer)
    writer.take()
    const reversed = [...host.samples].reverse()
    text.render(reversed, valueSuffix('prometheus', TS), writer)
    const fresh = new BodyWriter()
    new HostSeriesText(host.id.hostId, 'prometheus').render(reversed, valueSuffix('prometheus', TS), fresh)
    expect(writer.take().toString('utf8')).toBe(fresh.take().toString('utf8'))
  })

  it('grows its buffer past the first megabyte without losing bytes', () => {
    const writer = new BodyWriter()
    const text = new HostSeriesText(host.id.hostId, 'prometheus')
    const suffix = valueSuffix('prometheus', TS)
    const one = new BodyWriter()
    text.render(host.samples, suffix, one)
    const single = one.take()
    const times = Math.ceil((3 * 2 ** 20) / single.length)
    for (let i = 0; i < times; i++) text.render(host.samples, suffix, writer)
    const body = writer.take()
    expect(body.length).toBe(single.length * times)
    expect(body.subarray(body.length - single.length).equals(single)).toBe(true)
  })
})
