import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader } from './collector.ts'
import { tapestats } from './tapestats.ts'

const roots: string[] = []

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

/** The files under sys/class/scsi_tape → `name{labels} value` per point (undefined when absent) and the problems. */
function run(
  files: Record<string, string> | undefined,
  options: Record<string, string> = {},
): { series: string[] | undefined; problems: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'tapestats-test-'))
  roots.push(root)
  for (const [path, text] of Object.entries(files ?? {})) {
    mkdirSync(dirname(join(root, 'sys/class/scsi_tape', path)), { recursive: true })
    writeFileSync(join(root, 'sys/class/scsi_tape', path), text)
  }
  const defaults = Object.fromEntries(Object.entries(tapestats.options ?? {}).map(([k, o]) => [k, o.default]))
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = tapestats.open({
      paths: {
        procfs: join(root, 'proc'),
        sysfs: join(root, 'sys'),
        rootfs: root,
        udevData: join(root, 'udev'),
      },
      options: { ...defaults, ...options },
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

describe('tapestats', () => {
  it('is absent, without a problem, when there is no /sys/class/scsi_tape', () => {
    expect(run(undefined)).toEqual({ series: undefined, problems: [] })
  })

  it('sends plain st<N> drives only, times in seconds, minus ignored devices', () => {
    expect(
      run(
        {
          'st0/stats/io_ns': '9247011087720\n',
          'st0/stats/read_cnt': '3741\n',
          'nst0/stats/read_cnt': '3741\n',
          'st0a/stats/read_cnt': '3741\n',
          'st1/stats/read_cnt': '5\n',
        },
        { 'ignored-devices': '^st1$' },
      ),
    ).toEqual({
      series: [
        'node_tape_io_time_seconds_total{device=st0} 9247.01108772',
        'node_tape_reads_completed_total{device=st0} 3741',
      ],
      problems: [],
    })
  })

  it('reports a counter that is not a number and sends the rest', () => {
    const { series, problems } = run({ 'st0/stats/in_flight': 'one\n', 'st0/stats/write_cnt': '7\n' })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/st0\/stats\/in_flight: not an unsigned integer: "one"/)
    expect(series).toEqual(['node_tape_writes_completed_total{device=st0} 7'])
  })
})
