import { describe, expect, it } from 'vitest'
import { readFixture } from './__fixtures__/fixtures.ts'
import { parseLoadavg } from './loadavg.ts'

function parse(text: string): { sample: ReturnType<typeof parseLoadavg>; problems: string[] } {
  const problems: string[] = []
  const sample = parseLoadavg(text, (p) => problems.push(p))
  return { sample, problems }
}

describe('parseLoadavg', () => {
  it('reads both fixtures', () => {
    expect(parse(readFixture('procfs/proc/loadavg'))).toEqual({
      sample: {
        load1: 0.02,
        load5: 0.04,
        load15: 0.05,
        threads_running: 1,
        threads_total: 497,
        last_pid: 11947,
      },
      problems: [],
    })
    expect(parse(readFixture('live-t0/proc/loadavg'))).toEqual({
      sample: {
        load1: 0.19,
        load5: 0.23,
        load15: 0.1,
        threads_running: 1,
        threads_total: 85,
        last_pid: 4853,
      },
      problems: [],
    })
  })

  it('keeps the fields that parsed and reports the others', () => {
    const { sample, problems } = parse('0.19 abc 0.10 1/85/3 4853\n')
    expect(sample).toEqual({
      load1: 0.19,
      load5: 0,
      load15: 0.1,
      threads_running: 0,
      threads_total: 0,
      last_pid: 4853,
    })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('load5')
  })

  it('reports a truncated line', () => {
    const { sample, problems } = parse('1.50 0.75')
    expect(sample).toMatchObject({ load1: 1.5, load5: 0.75, load15: 0 })
    expect(problems).toHaveLength(3)
  })

  it('never throws on empty or garbage input', () => {
    expect(parse('').problems).toEqual(['/proc/loadavg: empty input'])
    expect(parse('\u0000 1e3 0x10 -/- \ufffd').problems).toHaveLength(5)
  })
})
