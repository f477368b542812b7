import { describe, expect, it } from 'vitest'
import { readFixture } from './__fixtures__/fixtures.ts'
import { parseVmstat } from './vmstat.ts'

function parse(text: string): { fields: Record<string, number>; problems: string[] } {
  const problems: string[] = []
  const { fields } = parseVmstat(text, (p) => problems.push(p))
  return { fields, problems }
}

describe('parseVmstat', () => {
  it('keeps node_exporter’s default fields of the live VM under the kernel’s names', () => {
    const { fields, problems } = parse(readFixture('live-t0/proc/vmstat'))
    expect(problems).toEqual([])
    expect(Object.keys(fields).sort()).toEqual([
      'oom_kill',
      'pgfault',
      'pgmajfault',
      'pgpgin',
      'pgpgout',
      'pswpin',
      'pswpout',
    ])
    expect(fields.pgpgin).toBe(546809)
    expect(fields.pgpgout).toBe(1217448)
    expect(fields.pgfault).toBe(1368956)
    expect(fields.pgmajfault).toBe(376)
    expect(fields.oom_kill).toBe(0)
  })

  it('reads every field when asked to, as --vmstat-fields . would', () => {
    const problems: string[] = []
    const { fields } = parseVmstat(readFixture('live-t0/proc/vmstat'), (p) => problems.push(p), /./)
    expect(problems).toEqual([])
    expect(Object.keys(fields)).toHaveLength(192)
    expect(fields.nr_free_pages).toBe(1106029)
  })

  it('skips and reports unreadable lines, keeping the rest', () => {
    const problems: string[] = []
    const text = 'pgfault 10\nnovalue\npgmajfault x\ntoo many 1\n\npswpin 3\n'
    const { fields } = parseVmstat(text, (p) => problems.push(p), /./)
    expect(fields).toEqual({ pgfault: 10, pswpin: 3 })
    expect(problems).toEqual([
      '/proc/vmstat: unreadable line "novalue"',
      '/proc/vmstat: unreadable line "pgmajfault x"',
      '/proc/vmstat: unreadable line "too many 1"',
    ])
  })

  it('parses only the fields it keeps: a garbled line nobody asked for is no error', () => {
    expect(parse('nr_free_pages x y\npgmajfault x\npgfault 7\n')).toEqual({
      fields: { pgfault: 7 },
      problems: ['/proc/vmstat: unreadable line "pgmajfault x"'],
    })
  })

  it('never throws on empty or garbage input', () => {
    expect(parse('')).toEqual({ fields: {}, problems: ['/proc/vmstat: no fields'] })
    expect(parse('\u0000 \ufffd\n').problems.length).toBeGreaterThan(0)
  })
})
