import { describe, expect, it } from 'vitest'
import {
  judgeStep,
  nextRate,
  peerMarkdown,
  slope,
  type PeerBenchResult,
  type StepResult,
} from './vs-victoria-metrics.ts'

describe('judging a step', () => {
  const base = { offeredPerS: 100_000, fedPerS: 99_000, errors: 0, skipped: 0, maxLateMs: 40 }

  it('takes the backlog slope by least squares, so a store that inserts in batches is not judged on one tooth', () => {
    expect(
      slope([
        [0, 0],
        [1, 10],
        [2, 20],
        [3, 30],
      ]),
    ).toBeCloseTo(10, 9)
    // Samples unevenly spaced, as a busy store's /metrics answers them: the slope is per second.
    expect(
      slope([
        [0, 0],
        [0.5, 5],
        [2.5, 25],
        [3, 30],
      ]),
    ).toBeCloseTo(10, 9)
    // A saw tooth of a second's values, a store taking them in bursts: no growth.
    const saw = Array.from({ length: 15 }, (_, i): [number, number] => [i, i % 2 === 0 ? 100_000 : 0])
    expect(judgeStep({ ...base, backlog: saw }).sustained).toBe(true)
  })

  it('is not sustained when the backlog grows by more than 5 % of the offered rate', () => {
    const growing = Array.from({ length: 15 }, (_, i): [number, number] => [i, 20_000 + i * 6_000])
    expect(judgeStep({ ...base, backlog: growing })).toMatchObject({
      sustained: false,
      why: 'backlog grows 6,000 values/s',
    })
    const slow = Array.from({ length: 15 }, (_, i): [number, number] => [i, 20_000 + i * 4_000])
    expect(judgeStep({ ...base, backlog: slow }).sustained).toBe(true)
  })

  it('is not sustained with more than 10 s of values waiting, even when the backlog shrinks', () => {
    expect(
      judgeStep({
        ...base,
        backlog: [
          [0, 1_300_000],
          [1, 1_200_000],
          [2, 1_100_000],
        ],
      }).why,
    ).toBe('backlog of 11 s of values')
    expect(
      judgeStep({
        ...base,
        backlog: [
          [0, 1_000_000],
          [1, 900_000],
          [2, 800_000],
        ],
      }).sustained,
    ).toBe(true)
  })

  it('blames the feed, not the system, when the feed fell behind its own schedule', () => {
    expect(
      judgeStep({
        ...base,
        backlog: [
          [0, 0],
          [1, 0],
          [2, 0],
        ],
        maxLateMs: 1500,
      }).why,
    ).toBe('the feed fell 1.5 s behind its schedule (load generator bound)')
    expect(
      judgeStep({
        ...base,
        backlog: [
          [0, 0],
          [1, 0],
          [2, 0],
        ],
        fedPerS: 40_000,
      }).why,
    ).toBe('the feed built only 40,000 values/s (load generator bound)')
    expect(
      judgeStep({
        ...base,
        backlog: [
          [0, 0],
          [1, 0],
          [2, 0],
        ],
        skipped: 4_000,
      }).why,
    ).toBe('4,000 values not sent (queue full)')
    expect(
      judgeStep({
        ...base,
        backlog: [
          [0, 0],
          [1, 0],
          [2, 0],
        ],
        errors: 2,
      }).why,
    ).toBe('2 failed sends')
  })
})

describe('the rates tried', () => {
  const run = (capacity: number, start = 50_000, max = 1_600_000): number[] => {
    const tried: { rate: number; sustained: boolean }[] = []
    for (let rate = nextRate(tried, start, max); rate !== undefined; rate = nextRate(tried, start, max))
      tried.push({ rate, sustained: rate <= capacity })
    return tried.map((t) => t.rate)
  }

  it('double until a step fails, then try once between the last two', () => {
    expect(run(500_000)).toEqual([50_000, 100_000, 200_000, 400_000, 800_000, 565_685])
    expect(run(150_000)).toEqual([50_000, 100_000, 200_000, 141_421])
  })

  it('halve down to an eighth of the start when even the first step fails, then refine once', () => {
    expect(run(20_000)).toEqual([50_000, 25_000, 12_500, 17_678])
    expect(run(1_000)).toEqual([50_000, 25_000, 12_500, 6_250])
  })

  it('stop at the maximum', () => {
    expect(run(10_000_000, 50_000, 400_000)).toEqual([50_000, 100_000, 200_000, 400_000])
  })
})

describe('the side-by-side table', () => {
  const step = (
    hosts: number,
    sustained: boolean,
    cpu: Record<string, number>,
    peakRssMb: Record<string, number> = {},
  ): StepResult => ({
    hosts,
    offeredPerS: hosts * 177,
    seconds: 15,
    fedPerS: hosts * 177,
    storedPerS: hosts * 177,
    backlogSlopePerS: 0,
    backlogEnd: 0,
    sustained,
    why: sustained ? '' : 'backlog grows 9,000 values/s',
    cpuSeconds: cpu,
    cpuUsPerValue: cpu,
    peakRssMb,
    load1: 1.2,
  })
  const result: PeerBenchResult = {
    machine: { cpus: 2, model: 'AMD EPYC' },
    valuesPerHostTick: 177,
    options: {
      stepSeconds: 20,
      warmupSeconds: 5,
      startRate: 50_000,
      maxRate: 1_600_000,
      format: 'prometheus',
      systems: ['victoria-metrics', 'procstream'],
    },
    systems: [
      {
        system: 'victoria-metrics',
        store: 'victoria-metrics',
        steps: [
          step(282, true, { 'victoria-metrics': 2.6, feed: 1.5 }, { 'victoria-metrics': 120 }),
          step(565, true, { 'victoria-metrics': 2.4, feed: 1.4 }, { 'victoria-metrics': 140 }),
        ],
        sustained: step(565, true, { 'victoria-metrics': 2.4, feed: 1.4 }, { 'victoria-metrics': 140 }),
        peakRssMb: { 'victoria-metrics': 140, feed: 120 },
        fed: 1,
        stored: 1,
        audit: { exact: true, detail: '' },
        diskBytes: 1,
        bytesPerValue: 1.5,
        diskDetail: '',
      },
      {
        system: 'procstream',
        store: 'procstream',
        steps: [
          step(282, true, { procstream: 12, kafka: 3, feed: 2 }, { procstream: 700 }),
          step(565, false, { procstream: 11, kafka: 3, feed: 2 }, { procstream: 800 }),
        ],
        sustained: step(282, true, { procstream: 12, kafka: 3, feed: 2 }, { procstream: 700 }),
        peakRssMb: { procstream: 700, kafka: 500 },
        fed: 1,
        stored: 1,
        audit: { exact: true, detail: '' },
        diskBytes: 1,
        bytesPerValue: 6,
        diskDetail: '',
      },
    ],
  }

  it('gives each figure of both and procstream over VictoriaMetrics, and compares cost at the rate both sustained', () => {
    const md = peerMarkdown(result)
    expect(md).toContain(
      '| sustained values/s (highest step with the backlog not growing) | 100,005 | 49,914 | 0.50× |',
    )
    expect(md).toContain('| CPU-µs per stored value at that rate, storing process | 2.40 | 12.00 | 5.00× |')
    expect(md).toContain('| … with the Kafka broker | | 15.00 | 6.25× |')
    expect(md).toContain(
      '| CPU-µs per stored value at 49,914 values/s (both sustained), storing process | 2.60 | 12.00 | 4.62× |',
    )
    expect(md).toContain('| peak RSS MB at that rate, storing process | 140 | 700 | 5.00× |')
    expect(md).toContain('| peak RSS MB at 49,914 values/s, storing process | 120 | 700 | 5.83× |')
    expect(md).toContain('| disk bytes per stored value after flush and merge | 1.50 | 6.00 | 4.00× |')
    expect(md).toContain(
      '| 100,005 | 565 | 15.0 | 100,005 | 100,005 | 0 | no: backlog grows 9,000 values/s | 11.00 | 3.00 | 2.00 | 1.2 |',
    )
  })

  it('still prints the peer when procstream failed', () => {
    const failed: PeerBenchResult = {
      ...result,
      systems: [
        result.systems[0] as PeerBenchResult['systems'][number],
        {
          ...(result.systems[1] as PeerBenchResult['systems'][number]),
          steps: [],
          sustained: undefined,
          bytesPerValue: NaN,
          error: 'pipeline.ts exited (1)',
        },
      ],
    }
    const md = peerMarkdown(failed)
    expect(md).toContain('procstream: **failed**: pipeline.ts exited (1)')
    expect(md).toContain(
      '| sustained values/s (highest step with the backlog not growing) | 100,005 | – | – |',
    )
  })
})
