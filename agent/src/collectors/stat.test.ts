import { describe, expect, it } from 'vitest'
import { readFixture } from './__fixtures__/fixtures.ts'
import { parseStat } from './stat.ts'

function parse(text: string, userHz?: number): { sample: ReturnType<typeof parseStat>; problems: string[] } {
  const problems: string[] = []
  const sample = parseStat(text, userHz, (p) => problems.push(p))
  return { sample, problems }
}

describe('parseStat', () => {
  it('reads the 8-CPU procfs fixture: aggregate line as cpu -1, then every cpu in order', () => {
    const { sample, problems } = parse(readFixture('procfs/proc/stat'))
    expect(problems).toEqual([])
    expect(sample.user_hz).toBe(100)
    expect(sample.cpus.map((c) => c.cpu)).toEqual([-1, 0, 1, 2, 3, 4, 5, 6, 7])
    expect(sample.cpus[0]).toEqual({
      cpu: -1,
      user: 301854,
      nice: 612,
      system: 111922,
      idle: 8979004,
      iowait: 3552,
      irq: 2,
      softirq: 3944,
      steal: 0,
      guest: 0,
      guest_nice: 0,
    })
    expect(sample.cpus[8]).toEqual({
      cpu: 7,
      user: 29098,
      nice: 268,
      system: 10164,
      idle: 1139282,
      iowait: 555,
      irq: 0,
      softirq: 31,
      steal: 0,
      guest: 0,
      guest_nice: 0,
    })
    // intr keeps only its first number out of the thousands on that line.
    expect(sample.intr).toBe(73777505)
    expect(sample.ctxt).toBe(38014093)
    expect(sample.btime).toBe(1418183276)
    expect(sample.processes).toBe(26442)
    expect(sample.procs_running).toBe(2)
    expect(sample.procs_blocked).toBe(1)
  })

  it('reads the live 2-core VM, steal included', () => {
    const { sample, problems } = parse(readFixture('live-t0/proc/stat'))
    expect(problems).toEqual([])
    expect(sample.cpus).toHaveLength(3)
    expect(sample.cpus[1]).toEqual({
      cpu: 0,
      user: 1896,
      nice: 0,
      system: 1035,
      idle: 25501,
      iowait: 18,
      irq: 0,
      softirq: 9,
      steal: 40,
      guest: 0,
      guest_nice: 0,
    })
    expect(sample.cpus[2]?.user).toBe(2296)
    expect(sample.cpus[2]?.iowait).toBe(124)
    expect(sample).toMatchObject({
      intr: 222287,
      ctxt: 507918,
      btime: 1795353462,
      processes: 4842,
      procs_running: 1,
      procs_blocked: 0,
    })
  })

  it('records the USER_HZ it was given', () => {
    expect(parse(readFixture('live-t0/proc/stat'), 250).sample.user_hz).toBe(250)
  })

  it('fills modes an older kernel does not print with 0', () => {
    // 2.6.11 printed seven columns (no steal, guest, guest_nice).
    const { sample, problems } = parse('cpu0 10 20 30 40 50 60 70\n')
    expect(problems).toContain('/proc/stat: no ctxt line')
    expect(sample.cpus).toEqual([
      {
        cpu: 0,
        user: 10,
        nice: 20,
        system: 30,
        idle: 40,
        iowait: 50,
        irq: 60,
        softirq: 70,
        steal: 0,
        guest: 0,
        guest_nice: 0,
      },
    ])
  })

  it('skips and reports a cpu line with a non-number, keeping the other lines', () => {
    const text = 'cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 2 x 4 5 6 7 8 9 10\ncpu1 1 2 3 4 5 6 7 8 9 10\nctxt 5\n'
    const { sample, problems } = parse(text)
    expect(sample.cpus.map((c) => c.cpu)).toEqual([-1, 1])
    expect(sample.ctxt).toBe(5)
    expect(problems.some((p) => p.includes('non-numeric system column') && p.includes('cpu0'))).toBe(true)
  })

  it('skips and reports a truncated cpu line and a bad cpu name', () => {
    const { sample, problems } = parse('cpu0 1 2\ncpuX 1 2 3 4\ncpu-1 1 2 3 4\ncpu1 1 2 3 4\n')
    expect(sample.cpus.map((c) => c.cpu)).toEqual([1])
    expect(problems.filter((p) => p.includes('cpu'))).toHaveLength(3)
  })

  it('keeps a scalar at 0 and reports it when its value is not a number', () => {
    const { sample, problems } = parse('cpu 1 2 3 4\nctxt 12abc\nbtime\nprocesses -\n')
    expect(sample.ctxt).toBe(0)
    expect(sample.btime).toBe(0)
    expect(sample.processes).toBe(0)
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('unreadable ctxt'),
        expect.stringContaining('unreadable btime'),
        expect.stringContaining('unreadable processes'),
        '/proc/stat: no intr line',
      ]),
    )
  })

  it('never throws on empty or garbage input', () => {
    expect(parse('').problems).toEqual(['/proc/stat: empty input'])
    const garbage = parse('\u0000\u0001\ufffd cpu\n:::\ncpu\n\n\n intr')
    expect(garbage.sample.cpus).toEqual([])
    expect(garbage.problems.length).toBeGreaterThan(0)
  })

  it('reports a cut-off file (the last cpu line and everything after it gone)', () => {
    const full = readFixture('live-t0/proc/stat')
    const { sample, problems } = parse(full.slice(0, full.indexOf('cpu1') + 10))
    expect(sample.cpus.map((c) => c.cpu)).toEqual([-1, 0])
    expect(problems).toContain('/proc/stat: no ctxt line')
  })
})
