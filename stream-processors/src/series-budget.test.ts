import { describe, expect, it } from 'vitest'
import { SeriesRegistry, type SeriesRef } from './rows.ts'
import { HostSeriesBudget } from './series-budget.ts'

const registry = new SeriesRegistry()
/** One envelope's series and its time, as the processor hands them to admit(). */
const sample = (tsS: number, names: string[], host = 'web-1'): [SeriesRef[], number] => [
  names.map((n) => registry.canonical('acme', host, n, '{}')),
  tsS * 1_000_000,
]
const none = (): Promise<Map<string, Map<string, number>>> =>
  Promise.resolve(new Map<string, Map<string, number>>())
const names = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i)}`)

describe('HostSeriesBudget', () => {
  it('admits known series always and new ones while the host is under its budget', async () => {
    const budget = new HostSeriesBudget(5, 3600, none)
    await budget.prepare([{ tenant: 'acme', host: 'web-1' }], 100_000_000)
    expect(budget.admit(...sample(100, names('a', 4)))).toBe(true)
    expect(budget.admit(...sample(101, names('b', 2)))).toBe(false) // 4 + 2 > 5
    expect(budget.admit(...sample(102, names('a', 4)))).toBe(true)
    expect(budget.admit(...sample(103, names('b', 1)))).toBe(true)
    expect(budget.count('acme', 'web-1')).toBe(5)
    // Budgets are per host.
    expect(budget.admit(...sample(103, names('b', 5), 'web-2'))).toBe(true)
  })

  it('forgets series quiet for longer than the window of sample time', async () => {
    const budget = new HostSeriesBudget(5, 60, none)
    await budget.prepare([{ tenant: 'acme', host: 'web-1' }], 100_000_000)
    expect(budget.admit(...sample(100, names('a', 5)))).toBe(true)
    expect(budget.admit(...sample(150, names('b', 5)))).toBe(false)
    expect(budget.admit(...sample(161, names('b', 5)))).toBe(true) // the a* series last seen at 100
  })

  it('starts from what is stored for the host', async () => {
    const asked: unknown[] = []
    const budget = new HostSeriesBudget(5, 3600, (hosts, sinceUs) => {
      asked.push([hosts, sinceUs])
      return Promise.resolve(
        new Map([['acme\u0000web-1', new Map(names('a', 4).map((n) => [`${n}\u0000{}`, 99_000_000]))]]),
      )
    })
    await budget.prepare([{ tenant: 'acme', host: 'web-1' }], 100_000_000)
    await budget.prepare([{ tenant: 'acme', host: 'web-1' }], 100_000_000)
    // From the window before the chunk's oldest sample (100 s), once.
    expect(asked).toEqual([[[{ tenant: 'acme', host: 'web-1' }], 100_000_000 - 3_600_000_000]])
    expect(budget.admit(...sample(100, names('b', 2)))).toBe(false)
    expect(budget.admit(...sample(100, ['a0', 'b0']))).toBe(true)
  })

  it('counts series back after the window as new, so a reload judges the same', async () => {
    const budget = new HostSeriesBudget(10, 60, none)
    await budget.prepare([{ tenant: 'acme', host: 'web-1' }], 100_000_000)
    expect(budget.admit(...sample(100, [...names('a', 8), ...names('q', 2)]))).toBe(true)
    expect(budget.admit(...sample(150, names('a', 8)))).toBe(true)
    // At 200 s the q* series (last seen at 100) are past the window: with 2 new ones that is 12.
    expect(budget.admit(...sample(200, [...names('a', 8), ...names('q', 2), ...names('n', 2)]))).toBe(false)
    expect(budget.admit(...sample(200, [...names('a', 8), ...names('q', 2)]))).toBe(true)
  })

  it('leaves a host that a rebalance cleared mid-chunk for the next chunk to load', async () => {
    const budget = new HostSeriesBudget(2, 3600, none)
    await budget.prepare([{ tenant: 'acme', host: 'web-1' }], 100_000_000)
    budget.reset()
    expect(budget.admit(...sample(100, names('a', 5)))).toBe(true)
    expect(budget.count('acme', 'web-1')).toBe(0)
  })
})
