import { describe, expect, it } from 'vitest'
import { readFixture } from './__fixtures__/fixtures.ts'
import { parseMeminfo } from './meminfo.ts'

function parse(text: string): { fields: Record<string, number>; problems: string[] } {
  const problems: string[] = []
  const { fields } = parseMeminfo(text, (p) => problems.push(p))
  return { fields, problems }
}

describe('parseMeminfo', () => {
  it('reads every field of the procfs fixture, kB in bytes, kernel names kept', () => {
    const { fields, problems } = parse(readFixture('procfs/proc/meminfo'))
    expect(problems).toEqual([])
    expect(Object.keys(fields)).toHaveLength(45)
    expect(fields.MemTotal).toBe(15666184 * 1024)
    expect(fields.MemFree).toBe(440324 * 1024)
    expect(fields['Active(anon)']).toBe(267256 * 1024)
    expect(fields['Inactive(file)']).toBe(6532440 * 1024)
    expect(fields.Committed_AS).toBe(530844 * 1024)
    expect(fields.VmallocTotal).toBe(34359738367 * 1024)
    expect(fields.Hugepagesize).toBe(2048 * 1024)
    expect(fields.DirectMap2M).toBe(16039936 * 1024)
    // No unit on these lines: a page count, not bytes.
    expect(fields.HugePages_Total).toBe(0)
    expect(fields.HugePages_Surp).toBe(0)
  })

  it('reads the live VM (Linux 6.18 fields such as SecPageTables and Balloon)', () => {
    const { fields, problems } = parse(readFixture('live-t0/proc/meminfo'))
    expect(problems).toEqual([])
    expect(Object.keys(fields)).toHaveLength(54)
    expect(fields.MemTotal).toBe(25276514304)
    expect(fields.MemAvailable).toBe(24372396 * 1024)
    expect(fields['Active(file)']).toBe(120440 * 1024)
    expect(fields.SecPageTables).toBe(0)
    expect(fields.DirectMap1G).toBe(25165824 * 1024)
  })

  it('takes a unit-less value as it is', () => {
    expect(parse('HugePages_Total:      12\n').fields).toEqual({ HugePages_Total: 12 })
  })

  it('skips and reports unreadable lines, keeping the rest', () => {
    const text = [
      'MemTotal:       100 kB',
      'NoColon 12 kB',
      'Weird:       12 MB',
      'NotANumber:     x kB',
      'TooMany:       1 kB extra',
      'Empty:',
      '',
      'Name With Space: 3 kB',
      'MemFree:        50 kB',
    ].join('\n')
    const { fields, problems } = parse(text)
    expect(fields).toEqual({ MemTotal: 102400, MemFree: 51200 })
    expect(problems).toHaveLength(6)
    expect(problems[0]).toBe(`/proc/meminfo: no ':' in "NoColon 12 kB"`)
  })

  it('refuses a kB value that would exceed 2^53 bytes rather than round it', () => {
    const { fields, problems } = parse('Huge: 9007199254740 kB\n')
    expect(fields).toEqual({})
    expect(problems).toEqual([
      '/proc/meminfo: unit other than kB, or value too large, in "Huge: 9007199254740 kB"',
      '/proc/meminfo: no fields',
    ])
  })

  it('never throws on empty or garbage input', () => {
    expect(parse('')).toEqual({ fields: {}, problems: ['/proc/meminfo: no fields'] })
    const garbage = parse(':\n::::\n\u0000: \ufffd kB\n')
    expect(garbage.fields).toEqual({})
    expect(garbage.problems.length).toBeGreaterThan(0)
  })
})
