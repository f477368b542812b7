import { describe, expect, it } from 'vitest'
import { watchdog } from './watchdog.ts'
import { collectSeries, type Series, tempTree } from './testing.ts'

/** Watchdog devices (name → attribute → content) → `name{labels} value` per point (undefined when absent) and the problems. */
function run(devices: Record<string, Record<string, string>> | undefined): Series {
  const dirs = Object.keys(devices ?? {}).map((device) => `sys/class/watchdog/${device}`)
  const files = Object.entries(devices ?? {}).flatMap(([device, attributes]) =>
    Object.entries(attributes).map(([file, text]): [string, string] => [
      `sys/class/watchdog/${device}/${file}`,
      text,
    ]),
  )
  return collectSeries(watchdog, tempTree(Object.fromEntries(files), { dirs }), { sort: true })
}

describe('watchdog', () => {
  it('is absent, without a problem, when there is no /sys/class/watchdog', () => {
    expect(run(undefined)).toEqual({ series: undefined, problems: [] })
  })

  it('sends an info series with empty labels for a device without attributes', () => {
    expect(run({ watchdog1: {} })).toEqual({
      series: ['node_watchdog_info{name=watchdog1,options=,identity=,state=,status=,pretimeout_governor=} 1'],
      problems: [],
    })
  })

  it('reports an attribute that is not a number and sends the rest', () => {
    const { series, problems } = run({
      watchdog0: { timeout: '60s\n', bootstatus: '0x20\n', identity: 'iTCO_wdt\n', state: 'inactive\n' },
    })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/watchdog0\/timeout: not an integer: "60s"/)
    expect(series).toEqual([
      'node_watchdog_bootstatus{name=watchdog0} 32',
      'node_watchdog_info{name=watchdog0,options=,identity=iTCO_wdt,state=inactive,status=,pretimeout_governor=} 1',
    ])
  })
})
