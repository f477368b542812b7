import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  alignRange,
  compareSeries,
  interpolate,
  metricNames,
  parseDashboard,
  parseDuration,
  parseVariableQuery,
  queryTiming,
  resolveVariables,
  roundInterval,
  valueKind,
  type Series,
  type VariableApi,
} from './grafana-dashboard.ts'

const FIXTURE = new URL('../fixtures/node-exporter-full.json', import.meta.url)

describe('parseDashboard', () => {
  const model = {
    title: 'T',
    uid: 'u1',
    panels: [
      { type: 'row', title: 'Open row', collapsed: false, panels: [] },
      {
        id: 1,
        type: 'stat',
        title: 'Top',
        interval: '1m',
        maxDataPoints: 100,
        targets: [{ refId: 'A', expr: 'up', instant: true, range: false, intervalFactor: 2 }],
      },
      {
        type: 'row',
        title: 'Closed row',
        collapsed: true,
        panels: [
          {
            id: 2,
            type: 'timeseries',
            title: 'Nested',
            targets: [{ expr: 'a', hide: true }, { expr: '' }, { refId: 'Z', expr: 'b', interval: '' }],
          },
        ],
      },
      { id: 3, type: 'text', title: 'After' },
    ],
    templating: {
      list: [
        { name: 'job', type: 'query', query: { query: 'label_values(up, job)' }, sort: 1 },
        { name: 'dev', type: 'custom', query: 'a,b', current: { value: 'b' } },
      ],
    },
  }

  it('takes every panel with its row, nested panels of collapsed rows included', () => {
    const d = parseDashboard(model)
    expect(d.title).toBe('T')
    expect(d.panels.map((p) => [p.id, p.title, p.row])).toEqual([
      [1, 'Top', 'Open row'],
      [2, 'Nested', 'Closed row'],
      [3, 'After', 'Closed row'],
    ])
    expect(d.panels[0]).toMatchObject({ interval: '1m', maxDataPoints: 100 })
    expect(d.panels[0]?.targets).toEqual([
      {
        refId: 'A',
        expr: 'up',
        hide: false,
        instant: true,
        range: false,
        interval: undefined,
        intervalFactor: 2,
        legendFormat: undefined,
      },
    ])
    // Empty expressions are no queries; a missing refId gets Grafana's letter.
    expect(d.panels[1]?.targets.map((t) => [t.refId, t.expr, t.hide, t.range])).toEqual([
      ['A', 'a', true, true],
      ['Z', 'b', false, true],
    ])
    expect(d.panels[2]?.targets).toEqual([])
  })

  it('reads the variables, whichever form their query has', () => {
    expect(parseDashboard(model).variables).toEqual([
      {
        name: 'job',
        type: 'query',
        query: 'label_values(up, job)',
        regex: undefined,
        sort: 1,
        multi: false,
        includeAll: false,
        current: undefined,
      },
      {
        name: 'dev',
        type: 'custom',
        query: 'a,b',
        regex: undefined,
        sort: 0,
        multi: false,
        includeAll: false,
        current: 'b',
      },
    ])
  })

  it('reads the old rows[] model', () => {
    const d = parseDashboard({
      rows: [{ title: 'R', panels: [{ id: 9, title: 'P', targets: [{ expr: 'x' }] }] }],
    })
    expect(d.panels.map((p) => [p.id, p.row, p.targets.length])).toEqual([[9, 'R', 1]])
  })

  it('reads the Node Exporter Full fixture', () => {
    const d = parseDashboard(JSON.parse(readFileSync(FIXTURE, 'utf8')))
    expect(d.title).toBe('Node Exporter Full')
    expect(d.variables.map((v) => v.name)).toEqual(['datasource', 'job', 'node', 'diskdevices'])
    expect(d.panels.length).toBeGreaterThan(100)
    const cpu = d.panels.find((p) => p.title === 'CPU Busy')
    expect(cpu?.targets[0]?.expr).toContain('node_cpu_seconds_total{mode="idle", instance="$node"}')
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length)
  })
})

describe('intervals', () => {
  it('parses and rounds durations as Grafana does', () => {
    expect(parseDuration('15s')).toBe(15_000)
    expect(parseDuration('1m30s')).toBe(90_000)
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('2')).toBe(2_000)
    expect(() => parseDuration('soon')).toThrow(/not a duration/)
    expect(roundInterval(75)).toBe(100)
    expect(roundInterval(14_000)).toBe(15_000)
    expect(roundInterval(40_000)).toBe(30_000)
  })

  it('takes the scrape interval as the lower limit and derives $__rate_interval from it', () => {
    // 6 h over 1000 points is 21.6 s → 20 s; rate interval max(20 + 15, 60) = 60 s.
    expect(queryTiming({ rangeMs: 6 * 3_600_000 })).toEqual({
      intervalMs: 20_000,
      stepMs: 20_000,
      rateIntervalMs: 60_000,
      rangeMs: 6 * 3_600_000,
    })
    // A short range is held up to the 15 s scrape interval.
    expect(queryTiming({ rangeMs: 90_000 })).toMatchObject({ intervalMs: 15_000, rateIntervalMs: 60_000 })
    // A 1 s scrape interval: max(1 + 1, 4) = 4 s.
    expect(queryTiming({ rangeMs: 90_000, scrapeIntervalMs: 1_000 })).toMatchObject({
      intervalMs: 1_000,
      stepMs: 1_000,
      rateIntervalMs: 4_000,
    })
  })

  it('applies the interval factor, the panel and target min intervals and the 11,000-point cap', () => {
    expect(queryTiming({ rangeMs: 90_000, intervalFactor: 4 })).toMatchObject({
      stepMs: 60_000,
      rateIntervalMs: 75_000,
    })
    expect(queryTiming({ rangeMs: 90_000, panelInterval: '1m' })).toMatchObject({ stepMs: 60_000 })
    expect(queryTiming({ rangeMs: 90_000, targetInterval: '30s' })).toMatchObject({ stepMs: 30_000 })
    expect(queryTiming({ rangeMs: 400 * 86_400_000, maxDataPoints: 1e9 }).stepMs).toBe(3_142_000)
  })

  it('aligns a range to its step', () => {
    expect(alignRange(10_500, 29_999, 5_000)).toEqual({ startMs: 10_000, endMs: 25_000 })
  })
})

describe('interpolate', () => {
  const timing = queryTiming({ rangeMs: 90_000 })

  it('replaces every form of variable reference and the built-ins', () => {
    const out = interpolate(
      'rate(x{instance="$node",job="${job}",n="[[nodename]]",d=~"$diskdevices"}[$__rate_interval]) / $__range_s + $__interval_ms',
      {
        variables: { node: 'web-1', job: 'node', nodename: 'web', diskdevices: '[a-z]+|nvme[0-9]+n[0-9]+' },
        timing,
      },
    )
    expect(out).toBe(
      'rate(x{instance="web-1",job="node",n="web",d=~"[a-z]+|nvme[0-9]+n[0-9]+"}[60s]) / 90 + 15000',
    )
  })

  it('takes names whole and leaves unknown ones as written', () => {
    expect(
      interpolate('$node $nodename $other ${unknown}', { variables: { node: 'a', nodename: 'b' } }),
    ).toBe('a b $other ${unknown}')
  })

  it('escapes as Grafana does: single values plainly, several as a regex alternation', () => {
    expect(interpolate("x{a='$v'}", { variables: { v: "it's\\" } })).toBe("x{a='it\\\\'s\\\\'}")
    expect(interpolate('x{a=~"$v"}', { variables: { v: ['a.b', 'c'] } })).toBe('x{a=~"(a\\\\.b|c)"}')
    expect(interpolate('${v:raw}', { variables: { v: ['a.b', 'c'] } })).toBe('a.b,c')
  })

  it('fills $__from, $__to and $__range', () => {
    expect(interpolate('$__from $__to $__range', { variables: {}, fromMs: 1, toMs: 2, timing })).toBe(
      '1 2 90s',
    )
  })
})

describe('variable queries', () => {
  it('parses the forms Grafana accepts', () => {
    expect(parseVariableQuery('label_values(node_uname_info{job="node"}, instance)')).toEqual({
      kind: 'label_values',
      label: 'instance',
      match: 'node_uname_info{job="node"}',
    })
    expect(parseVariableQuery('label_values(job)')).toEqual({
      kind: 'label_values',
      label: 'job',
      match: undefined,
    })
    expect(parseVariableQuery('metrics(node_.*)')).toEqual({ kind: 'metrics', regex: 'node_.*' })
    expect(parseVariableQuery('query_result(up)')).toEqual({ kind: 'query_result', query: 'up' })
    expect(parseVariableQuery('label_names()')).toEqual({ kind: 'label_names', match: undefined })
    expect(() => parseVariableQuery('select 1')).toThrow(/variable query/)
  })

  function fakeApi(calls: string[]): VariableApi {
    const sets = [
      { __name__: 'node_uname_info', job: 'node', instance: 'b-host', nodename: 'b' },
      { __name__: 'node_uname_info', job: 'node', instance: 'a-host', nodename: 'a' },
      { __name__: 'node_uname_info', job: 'other', instance: 'c-host', nodename: 'c' },
    ]
    return {
      series: (match) => {
        calls.push(`series ${match}`)
        const job = /job="([^"]*)"/.exec(match)?.[1]
        return Promise.resolve(sets.filter((s) => job === undefined || s.job === job))
      },
      labelValues: (label, match) => {
        calls.push(`label ${label} ${match ?? ''}`)
        return Promise.resolve(['x', 'y'])
      },
      labelNames: () => Promise.resolve(['job']),
      instant: () => Promise.resolve([]),
    }
  }

  it('resolves variables in order, each query seeing the values chosen before it, as Grafana 9 asks', async () => {
    const calls: string[] = []
    const { variables } = parseDashboard(JSON.parse(readFileSync(FIXTURE, 'utf8')))
    const resolved = await resolveVariables(variables, fakeApi(calls), { startMs: 0, endMs: 1 })
    expect(resolved).toEqual([
      { name: 'job', query: 'label_values(node_uname_info, job)', options: ['node', 'other'], value: 'node' },
      {
        name: 'node',
        query: 'label_values(node_uname_info{job="node"}, instance)',
        options: ['a-host', 'b-host'],
        value: 'a-host',
      },
      {
        name: 'diskdevices',
        query: '[a-z]+|nvme[0-9]+n[0-9]+|mmcblk[0-9]+',
        options: ['[a-z]+|nvme[0-9]+n[0-9]+|mmcblk[0-9]+'],
        value: '[a-z]+|nvme[0-9]+n[0-9]+|mmcblk[0-9]+',
      },
    ])
    expect(calls).toEqual(['series node_uname_info', 'series node_uname_info{job="node"}'])
  })

  it('takes a preferred value where offered, and can ask the label values API instead', async () => {
    const calls: string[] = []
    const vars = [
      {
        name: 'node',
        type: 'query',
        query: 'label_values(node_uname_info, instance)',
        regex: '/(.*)-host/',
        sort: 2,
        multi: false,
        includeAll: false,
        current: undefined,
      },
    ]
    const api = fakeApi(calls)
    expect(await resolveVariables(vars, api, { startMs: 0, endMs: 1, prefer: { node: 'b' } })).toEqual([
      {
        name: 'node',
        query: 'label_values(node_uname_info, instance)',
        options: ['c', 'b', 'a'],
        value: 'b',
      },
    ])
    await resolveVariables(vars, api, { startMs: 0, endMs: 1, labelValuesApi: 'label-values' })
    expect(calls.at(-1)).toBe('label instance node_uname_info')
  })
})

describe('metricNames and valueKind', () => {
  it('finds the selected metrics and nothing else', () => {
    expect(
      metricNames(
        'sum by(instance) (irate(node_cpu_seconds_total{instance="$node",mode=~".*irq"}[$__rate_interval])) / on(instance) group_left sum by (instance)((irate(node_cpu_seconds_total{a="b"}[5m])))',
      ),
    ).toEqual(['node_cpu_seconds_total'])
    expect(
      metricNames(
        'node_hwmon_temp_celsius{chip="x"} * on(chip) group_left(chip_name) node_hwmon_chip_names offset 5m > 1e3',
      ),
    ).toEqual(['node_hwmon_temp_celsius', 'node_hwmon_chip_names'])
    expect(metricNames('100 - (avg(x) * 100) and bool y')).toEqual(['x', 'y'])
  })

  it('tells rates, info metrics and gauges apart', () => {
    expect(valueKind('irate(node_network_receive_bytes_total[1m])*8')).toBe('rate')
    expect(valueKind('node_uname_info{job="node"}')).toBe('info')
    expect(valueKind('node_memory_MemTotal_bytes - node_memory_MemFree_bytes')).toBe('gauge')
  })
})

describe('compareSeries', () => {
  const s = (labels: Record<string, string>, values: number[]): Series => ({
    metric: labels,
    values: values.map((v, i) => [1000 + i * 5, v]),
  })

  it('matches series by labels minus the ignored ones and compares values at common times', () => {
    const ref = [
      s({ instance: 'h', cpu: '0' }, [100, 100, 100]),
      s({ instance: 'h', cpu: '1' }, [10, 10, 10]),
    ]
    const cand = [
      s({ instance: 'h', cpu: '0', host: 'id' }, [103, 99, 104]),
      s({ instance: 'h', cpu: '1', host: 'id' }, [10.2, 10, 9.9]),
    ]
    expect(compareSeries(ref, cand, { kind: 'gauge', ignoreLabels: ['host'] })).toMatchObject({
      agree: true,
      matched: 2,
      points: 6,
      pointsWithin: 6,
    })
  })

  it('fails gauges off by more than 5 % and passes rates within their looser tolerance', () => {
    const ref = [s({ a: '1' }, [100, 100, 100, 100])]
    const cand = [s({ a: '1' }, [120, 120, 120, 120])]
    expect(compareSeries(ref, cand, { kind: 'gauge' })).toMatchObject({ agree: false, pointsWithin: 0 })
    expect(compareSeries(ref, cand, { kind: 'rate' })).toMatchObject({ agree: true, pointsWithin: 4 })
  })

  it('passes a busy series whose reads differ at each instant but not on average', () => {
    // procs_running-like: both sides jump around the same level at different instants.
    const ref = [s({ a: '1' }, [2, 6, 3, 7, 2, 6, 3, 7, 2, 6, 3, 7, 2, 6])]
    const cand = [s({ a: '1' }, [6, 2, 7, 3, 6, 2, 7, 3, 6, 2, 7, 3, 6, 2])]
    expect(compareSeries(ref, cand, { kind: 'gauge' })).toMatchObject({ agree: true, pointsWithin: 0 })
    // … but not one whose level is off by more than that movement explains.
    const high = [s({ a: '1' }, [10, 6, 11, 7, 10, 6, 11, 7, 10, 6, 11, 7, 10, 6])]
    expect(compareSeries(ref, high, { kind: 'gauge' })).toMatchObject({ agree: false })
  })

  it('catches a steady rate off by a factor of two', () => {
    const ref = [s({ a: '1' }, [100, 104, 98, 101, 99, 103, 100, 102])]
    const double = [s({ a: '1' }, [200, 208, 196, 202, 198, 206, 200, 204])]
    expect(compareSeries(ref, double, { kind: 'rate' })).toMatchObject({ agree: false })
  })

  it('lets one series in ten be off, not two', () => {
    const ref = Array.from({ length: 10 }, (_, i) => s({ cpu: String(i) }, [10, 10, 10]))
    const oneOff = ref.map((r, i) => (i === 0 ? s(r.metric, [50, 50, 50]) : r))
    const twoOff = ref.map((r, i) => (i < 2 ? s(r.metric, [50, 50, 50]) : r))
    expect(compareSeries(ref, oneOff, { kind: 'gauge' }).agree).toBe(true)
    expect(compareSeries(ref, twoOff, { kind: 'gauge' })).toMatchObject({ agree: false })
  })

  it('drops empty-valued labels as Prometheus does, and says which the candidate returned', () => {
    const c = compareSeries([s({ a: '1' }, [1])], [s({ a: '1', devices: '' }, [1])], { kind: 'gauge' })
    expect(c).toMatchObject({ agree: true, emptyLabels: ['devices'] })
  })

  it('reports missing data, missing series and label sets of info metrics', () => {
    const ref = [s({ a: '1' }, [1]), s({ a: '2' }, [1])]
    expect(compareSeries(ref, [], { kind: 'gauge' })).toMatchObject({
      agree: false,
      reason: 'no series in the candidate',
    })
    expect(compareSeries(ref, [s({ a: '1' }, [1])], { kind: 'gauge' })).toMatchObject({
      agree: false,
      onlyReference: ['a="2"'],
    })
    expect(compareSeries(ref, [s({ a: '1' }, [1]), s({ a: '2' }, [1])], { kind: 'info' })).toMatchObject({
      agree: true,
    })
    expect(compareSeries([], [], { kind: 'gauge' })).toMatchObject({
      agree: true,
      reason: 'no data in either',
    })
  })
})
