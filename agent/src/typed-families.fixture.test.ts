import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ProcFamily } from '#schemas/src/families.ts'
import { memoryMetricName, NODE_EXPORTER_MEMINFO_FIELDS, STATIC_METRICS } from '#schemas/src/node-exporter.ts'
import {
  expectedExposition,
  fixtureRoots,
  parseExposition,
  type ExpositionFamily,
} from '#test/support/node-exporter-fixture.ts'
import { formatPrometheus } from './format/prometheus.ts'
import { Sampler } from './sampler.ts'

/**
 * The typed families (/proc read by agent/src/sources.ts, mapped by schemas/src/node-exporter.ts)
 * on node_exporter's own fixture tree, compared with what node_exporter's end-to-end test expects:
 * for every metric name a family prints, the same HELP, TYPE and sample lines. The filesystem family
 * is left out: node_exporter's test ran with the filesystem collector off.
 *
 * Names node_exporter prints that the typed records cannot carry (schemas/src/node-exporter.ts says
 * why): node_network_receive_nohandler_total (netlink only) and node_softirqs_total (/proc/stat's
 * softirq line, --collector.stat.softirq).
 */

const expected = expectedExposition()
const roots = fixtureRoots()

/**
 * Left out of node_exporter's own comparison (README of the fixtures): its netdev collector read
 * them over netlink from the loopback of the machine that ran the test.
 */
const NOT_COMPARED = /^node_network_(receive|transmit)_(bytes|packets)_total$/
/** node_exporter's test ran with --collector.netdev.device-include=lo; the agent has no such option. */
const NETDEV_INCLUDE = /\{device="lo"\}/

/**
 * The fixture tree has no /proc/net/dev (node_exporter read its counters over netlink), so the
 * network family reads this one: the loopback with the zeros node_exporter printed for it, and
 * another interface the device-include filter must leave out.
 */
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:   61097     556    0    0    0     0          0         0    61097     556    0    0    0     0       0          0
  eth0: 9754194   84463    1    2    3     4          5         6  1847893    9462    7    8    9    10      11         12
`

const tmp = mkdtempSync(join(tmpdir(), 'typed-families-fixture-'))
mkdirSync(join(tmp, 'net'))
writeFileSync(join(tmp, 'net', 'dev'), NET_DEV)

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true })
})

/** One family read by the agent's Sampler with node_exporter's default settings, as printed. */
function printed(
  procfs: string,
  family: ProcFamily,
): { families: Map<string, ExpositionFamily>; problems: string[] } {
  const problems: string[] = []
  const sampler = new Sampler(procfs, (_f, p) => problems.push(p))
  const sample = sampler.sample(family)
  sampler.close()
  return { families: parseExposition(sample ? formatPrometheus([sample]) : ''), problems }
}

/** The network family as node_exporter's test printed it: only lo. */
function printedNetwork(): { families: Map<string, ExpositionFamily>; problems: string[] } {
  const out = printed(tmp, 'network')
  for (const [name, family] of out.families) {
    family.lines = family.lines.filter((line) => NETDEV_INCLUDE.test(line))
    if (family.lines.length === 0) out.families.delete(name)
  }
  return out
}

function expectAsNodeExporter(actual: Map<string, ExpositionFamily>): void {
  for (const [name, got] of [...actual].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const want = expected.get(name)
    expect(want, `${name} is printed by node_exporter too`).toBeDefined()
    if (!want) continue
    expect(got.help, `HELP of ${name}`).toBe(want.help)
    expect(got.type, `TYPE of ${name}`).toBe(want.type)
    if (!NOT_COMPARED.test(name))
      expect([...got.lines].sort(), `series of ${name}`).toEqual([...want.lines].sort())
  }
}

const FROM_FIXTURE: readonly ProcFamily[] = ['cpu', 'memory', 'disk', 'load', 'pressure', 'vmstat']

describe('typed families on node_exporter’s fixture tree', () => {
  for (const family of FROM_FIXTURE) {
    it(`${family}: the names, HELP, TYPE and series node_exporter prints`, () => {
      const { families, problems } = printed(roots.procfs, family)
      expect(problems).toEqual([])
      expect(families.size, `${family} prints something`).toBeGreaterThan(0)
      expectAsNodeExporter(families)
    })
  }

  it('network: the names, HELP, TYPE and series node_exporter prints for lo', () => {
    const { families, problems } = printedNetwork()
    expect(problems).toEqual([])
    expect(families.size).toBe(16)
    expectAsNodeExporter(families)
  })

  it('prints every name of node_exporter’s output that the mapping declares', () => {
    const names = new Set([
      ...FROM_FIXTURE.flatMap((family) => [...printed(roots.procfs, family).families.keys()]),
      ...printedNetwork().families.keys(),
    ])
    const declared = new Set([
      ...STATIC_METRICS.map((m) => m.name),
      ...[...NODE_EXPORTER_MEMINFO_FIELDS].map(memoryMetricName),
    ])
    const missing = [...expected.keys()].filter(
      (name) => (declared.has(name) || name.startsWith('node_vmstat_')) && !names.has(name),
    )
    expect(missing).toEqual([])
  })
})
