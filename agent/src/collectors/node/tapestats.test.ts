import { describe, expect, it } from 'vitest'
import { tapestats } from './tapestats.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under sys/class/scsi_tape → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string> | undefined, options: Record<string, string> = {}): Series {
  return collectSeries(tapestats, tempTree(under('sys/class/scsi_tape', files ?? {})), {
    options,
    sort: true,
  })
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
