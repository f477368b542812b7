import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeCollectors } from '../../node-collectors.ts'
import { time } from './time.ts'

let root = ''

afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'time-test-'))
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), text)
  }
  return join(root, 'sys')
}

/** Each series as `name{labels} value`, node_time_seconds' value left out. */
function run(sysfs: string): { series: string[]; problems: string[] } {
  const problems: string[] = []
  const collectors = new NodeCollectors({
    paths: { procfs: join(root, 'proc'), sysfs, rootfs: root, udevData: join(root, 'udev') },
    onProblem: (_c, p) => problems.push(p),
    collectors: [time],
  })
  const sample = collectors.collect('time')
  collectors.close()
  const series = (sample?.metrics ?? []).flatMap((f) =>
    f.series.map(
      (s) =>
        `${f.name}${JSON.stringify(s.labels)}${f.name === 'node_time_seconds' ? '' : ` ${String(s.value)}`}`,
    ),
  )
  return { series, problems }
}

describe('time', () => {
  it('reports the time and zone without clocksources', () => {
    const { series, problems } = run(tree({}))
    expect(problems).toEqual([])
    expect(series.map((s) => s.replace(/\{.*/, ''))).toEqual([
      'node_time_seconds',
      'node_time_zone_offset_seconds',
    ])
  })

  it('gives the zone abbreviation and offset date(1) gives for this process', () => {
    const date = (format: string): string => execFileSync('date', [format], { encoding: 'utf8' }).trim()
    const offset = date('+%z')
    const seconds =
      (offset.startsWith('-') ? -1 : 1) * (Number(offset.slice(1, 3)) * 3600 + Number(offset.slice(3)) * 60)
    expect(run(tree({})).series[1]).toBe(
      `node_time_zone_offset_seconds${JSON.stringify({ time_zone: date('+%Z') })} ${String(seconds)}`,
    )
  })

  it('numbers clocksource devices by their sorted place, and reports one it cannot read', () => {
    const sysfs = tree({
      'sys/devices/system/clocksource/clocksource0/available_clocksource': 'tsc hpet acpi_pm \n',
      'sys/devices/system/clocksource/clocksource0/current_clocksource': 'tsc\n',
      'sys/devices/system/clocksource/clocksource1/available_clocksource': 'kvm-clock\n',
      'sys/devices/system/clocksource/clocksource2/available_clocksource': 'jiffies\n',
      'sys/devices/system/clocksource/clocksource2/current_clocksource': 'jiffies\n',
      'sys/devices/system/clocksource/uevent': '',
    })
    const { series, problems } = run(sysfs)
    expect(problems).toEqual([
      expect.stringContaining('clocksource1: no available_clocksource or current_clocksource'),
    ])
    expect(series.slice(2)).toEqual([
      'node_time_clocksource_available_info{"device":"0","clocksource":"tsc"} 1',
      'node_time_clocksource_available_info{"device":"0","clocksource":"hpet"} 1',
      'node_time_clocksource_available_info{"device":"0","clocksource":"acpi_pm"} 1',
      'node_time_clocksource_available_info{"device":"2","clocksource":"jiffies"} 1',
      'node_time_clocksource_current_info{"device":"0","clocksource":"tsc"} 1',
      'node_time_clocksource_current_info{"device":"2","clocksource":"jiffies"} 1',
    ])
  })
})
