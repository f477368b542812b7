/**
 * Charts over long ranges read the rollup tiers, and give what raw would: the mean of a gauge per step
 * and a counter's rate, across a counter reset, from 3 h of 1 s rows in embedded ClickHouse.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClickHouseSink, addPoint, newRowBatch } from '#test/support/store-rows.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { querySeries, resolutionFor, type SeriesRequest } from '../../src/series-query.ts'

const DB = 'tiers'
const HOUR = 3_600_000
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0)
const SECONDS = 3 * 3600
const RESET_AT = 5400 // the counter restarts from 0 after 1.5 h

let db: EmbeddedClickHouse
let clickhouse: ClickHouseClient

const gauge = (i: number): number => Math.round(100 * (1 + Math.sin(i / 300))) / 100
const counter = (i: number): number => (i < RESET_AT ? i : i - RESET_AT) * 0.5

beforeAll(async () => {
  db = await openEmbeddedClickHouse(DB)
  clickhouse = db.clickhouse
  const batch = newRowBatch()
  for (let i = 0; i < SECONDS; i++) {
    const tsUs = (T0 + i * 1000) * 1000
    addPoint(batch, { tenant: 'acme', metric: 'node_load1', host: 'h1', labels: '{}', tsUs, value: gauge(i) })
    addPoint(batch, {
      tenant: 'acme',
      metric: 'node_cpu_seconds_total',
      host: 'h1',
      labels: '{"cpu":"0","mode":"user"}',
      tsUs,
      value: counter(i),
    })
  }
  await new ClickHouseSink(clickhouse, DB).write(batch, 'tiers-test')
})

afterAll(async () => {
  await db.close()
})

const request = (metric: string, fn: 'raw' | 'rate', points: number): SeriesRequest => ({
  tenant: 'acme',
  host: 'h1',
  metric,
  fn,
  sumBy: undefined,
  fromMs: T0,
  toMs: T0 + 3 * HOUR,
  points,
})

describe('series from rollup tiers', () => {
  it('picks a tier whose buckets divide the step, raw for short steps', () => {
    expect(resolutionFor(T0, T0 + 3 * HOUR, 60)).toEqual({ stepMs: 180_000, tier: 'metrics_10s' })
    expect(resolutionFor(T0, T0 + 3 * HOUR, 12)).toEqual({ stepMs: 900_000, tier: 'metrics_1m' })
    expect(resolutionFor(T0, T0 + 24 * HOUR, 5)).toEqual({ stepMs: 18_000_000, tier: 'metrics_1h' })
    expect(resolutionFor(T0, T0 + HOUR, 600)).toEqual({ stepMs: 6_000, tier: undefined })
  })

  it('gives the exact mean of a gauge per step, as the raw rows do', async () => {
    for (const points of [60, 12, 2]) {
      const res = await querySeries(clickhouse, DB, request('node_load1', 'raw', points))
      expect(res.source).not.toBe('metrics_raw')
      const values = res.series[0]?.values ?? []
      expect(values.length).toBe(res.timestamps.length)
      res.timestamps.forEach((tsSec, k) => {
        const from = (tsSec * 1000 - T0) / 1000
        let sum = 0
        let n = 0
        for (let i = from; i < Math.min(from + res.step_ms / 1000, SECONDS); i++) {
          sum += gauge(i)
          n++
        }
        expect(values[k], `${res.source} step ${String(k)}`).toBeCloseTo(sum / n, 9)
      })
    }
  })

  it('gives a counter’s rate per step, a reset counted as a restart from zero', async () => {
    const res = await querySeries(clickhouse, DB, request('node_cpu_seconds_total', 'rate', 12))
    expect(res.source).toBe('metrics_1m')
    const values = res.series[0]?.values ?? []
    const resetStep = Math.floor((RESET_AT * 1000) / res.step_ms)
    values.forEach((v, k) => {
      if (k === 0)
        expect(v).toBeNull() // no step before the range's first to take an increase from
      else if (k === resetStep) expect(v).toBeGreaterThan(0)
      else expect(v, `step ${String(k)}`).toBeCloseTo(0.5, 9)
    })
  })
})
