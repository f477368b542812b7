import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader } from './collector.ts'
import { watchdog } from './watchdog.ts'

const roots: string[] = []

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

/** Watchdog devices (name → attribute → content) → `name{labels} value` per point (undefined when absent) and the problems. */
function run(devices: Record<string, Record<string, string>> | undefined): {
  series: string[] | undefined
  problems: string[]
} {
  const root = mkdtempSync(join(tmpdir(), 'watchdog-test-'))
  roots.push(root)
  for (const [device, files] of Object.entries(devices ?? {})) {
    const dir = join(root, 'sys/class/watchdog', device)
    mkdirSync(dir, { recursive: true })
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
  }
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = watchdog.open({
      paths: {
        procfs: join(root, 'proc'),
        sysfs: join(root, 'sys'),
        rootfs: root,
        udevData: join(root, 'udev'),
      },
      options: {},
      problem: (p) => problems.push(p),
      fs,
    })
    const result = reader.collect((name, labels, value) => {
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
      series.push(`${name}{${text}} ${String(value)}`)
    })
    return { series: result === 'absent' ? undefined : series.sort(), problems }
  } finally {
    fs.close()
  }
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
