import { describe, expect, it } from 'vitest'
import { readFixture } from './__fixtures__/fixtures.ts'
import { parsePressure, parsePsiResource } from './pressure.ts'

function parse(
  text: string,
  resource = 'io',
): { data: ReturnType<typeof parsePsiResource>; problems: string[] } {
  const problems: string[] = []
  const data = parsePsiResource(text, resource, (p) => problems.push(p))
  return { data, problems }
}

describe('parsePsiResource', () => {
  it('reads some and full of the procfs fixture', () => {
    const { data, problems } = parse(readFixture('procfs/proc/pressure/io'))
    expect(problems).toEqual([])
    expect(data).toEqual({
      some: { avg10: 0.1, avg60: 2, avg300: 3.85, total_us: 15 },
      full: { avg10: 0.2, avg60: 3, avg300: 4.95, total_us: 25 },
    })
  })

  it('gives full = null for a cpu file without a full line (kernels before 5.13), without a problem', () => {
    const { data, problems } = parse(readFixture('procfs/proc/pressure/cpu'), 'cpu')
    expect(problems).toEqual([])
    expect(data.full).toBeNull()
    expect(data.some).toEqual({ avg10: 0.1, avg60: 2, avg300: 3.85, total_us: 15 })
  })

  it('reports a broken line and keeps the other one', () => {
    const { data, problems } = parse(
      'some avg10=0.10 avg60=x avg300=3.85 total=15\nfull avg10=0.20 avg60=3.00 avg300=4.95 total=25\n',
    )
    expect(data.some).toEqual({ avg10: 0, avg60: 0, avg300: 0, total_us: 0 })
    expect(data.full?.total_us).toBe(25)
    expect(problems).toEqual([
      '/proc/pressure/io: unreadable line "some avg10=0.10 avg60=x avg300=3.85 total=15"',
      "/proc/pressure/io: no readable 'some' line",
    ])
  })

  it('refuses lines with a missing or repeated key, ignores keys and line kinds a kernel may add', () => {
    expect(parse('some avg10=1.00 avg60=1.00 total=3\n').problems).toHaveLength(2)
    expect(parse('some avg10=1.00 avg10=1.00 avg60=1.00 avg300=1.00 total=3\n').problems).toHaveLength(2)
    const future = parse('some avg10=1.00 avg60=2.00 avg300=3.00 total=4 max=9\nnew avg10=1\n')
    expect(future.problems).toEqual([])
    expect(future.data.some).toEqual({ avg10: 1, avg60: 2, avg300: 3, total_us: 4 })
  })

  it('never throws on empty or garbage input', () => {
    expect(parse('').problems).toEqual(["/proc/pressure/io: no readable 'some' line"])
    expect(parse('some =\nfull x=\u0000\n').problems.length).toBeGreaterThan(1)
  })
})

describe('parsePressure', () => {
  it('reads the live VM’s three files, totals in microseconds', () => {
    const problems: string[] = []
    const sample = parsePressure(
      {
        cpu: readFixture('live-t0/proc/pressure/cpu'),
        memory: readFixture('live-t0/proc/pressure/memory'),
        io: readFixture('live-t0/proc/pressure/io'),
      },
      (p) => problems.push(p),
    )
    expect(problems).toEqual([])
    expect(sample.cpu.some).toEqual({ avg10: 0.02, avg60: 0.77, avg300: 1.12, total_us: 7230773 })
    expect(sample.cpu.full).toEqual({ avg10: 0, avg60: 0, avg300: 0, total_us: 0 })
    expect(sample.io.full?.total_us).toBe(1011316)
    expect(sample.memory.some.total_us).toBe(0)
  })
})
