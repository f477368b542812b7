import { describe, expect, it } from 'vitest'
import type { MetricPoint } from '#schemas/src/metric-model.ts'
import { collectorOfMetric } from '#schemas/src/node-metrics/index.ts'
import {
  expectedExposition,
  FIXTURE_OPTIONS,
  fixtureRoots,
  parseExposition,
} from '#test/support/node-exporter-fixture.ts'
import { formatMetricPoints } from '../../format/prometheus.ts'
import { NodeCollectors } from '../../node-collectors.ts'
import { NODE_COLLECTORS } from './index.ts'

/**
 * Each collector on node_exporter's own fixture tree, compared with what node_exporter's end-to-end
 * test expects from it: for every metric name the collector declares, the same HELP, TYPE and sample
 * lines (labels and values as printed), and no name node_exporter does not print.
 */

/** Left out of node_exporter's own comparison (README of the fixtures): they depend on the clock. */
const NOT_COMPARED = /^node_time_(zone|seconds)/
/**
 * Collectors node_exporter's end-to-end test switched off (README of the fixtures), so it printed
 * nothing to compare with; each has its own test against the live system call it reads, or
 * (selinux, which go-selinux reads from selinuxfs, /etc/selinux/config and the process's own
 * context) against a temporary tree in selinux.test.ts.
 */
const E2E_DISABLED = new Set(['selinux', 'uname'])
/**
 * Collectors whose input node_exporter's test read from outside the fixture folders copied here:
 * `os` reads `usr/lib/os-release` under --path.rootfs, which is not among them. os.test.ts writes
 * that file (node_exporter's fixture, Ubuntu 20.04) into a temporary root and compares with the
 * same lines of e2e-output.txt.
 */
const E2E_INPUT_ABSENT = new Set(['os'])

const expected = expectedExposition()
const roots = fixtureRoots()

function collect(name: string): { points: MetricPoint[]; problems: string[] } {
  const problems: string[] = []
  const collectors = new NodeCollectors({
    paths: roots,
    options: FIXTURE_OPTIONS,
    onProblem: (_c, p) => problems.push(p),
  })
  const sample = collectors.collect(name)
  collectors.close()
  const points: MetricPoint[] = []
  for (const f of sample?.metrics ?? [])
    for (const s of f.series) points.push({ name: f.name, labels: s.labels, value: s.value })
  return { points, problems }
}

describe('node_exporter collectors on node_exporter’s fixture tree', () => {
  for (const collector of NODE_COLLECTORS.filter(
    (c) => !E2E_DISABLED.has(c.name) && !E2E_INPUT_ABSENT.has(c.name),
  )) {
    it(`${collector.name}: the names, HELP, TYPE and series node_exporter prints`, () => {
      // A label holding a path (rapl's `path`) names the sysfs root node_exporter's test ran with.
      const points = collect(collector.name).points.map((p) => ({
        ...p,
        labels: Object.fromEntries(
          Object.entries(p.labels).map(([k, v]) => [k, v.replace(roots.sysfs, 'collector/fixtures/sys')]),
        ),
      }))
      const actual = parseExposition(formatMetricPoints(points))
      for (const name of actual.keys()) {
        expect(collectorOfMetric(name), `${name} is declared by the ${collector.name} catalogue`).toBe(
          collector.name,
        )
      }
      const names = new Set(
        [...expected.keys(), ...actual.keys()].filter(
          (n) => collectorOfMetric(n) === collector.name && !NOT_COMPARED.test(n),
        ),
      )
      expect(names.size, `node_exporter prints some of ${collector.name}'s names`).toBeGreaterThan(0)
      for (const name of [...names].sort()) {
        const want = expected.get(name)
        const got = actual.get(name)
        expect(got, `${name} is printed`).toBeDefined()
        expect(want, `${name} is printed by node_exporter too`).toBeDefined()
        if (!want || !got) continue
        expect(got.help, `HELP of ${name}`).toBe(want.help)
        expect(got.type, `TYPE of ${name}`).toBe(want.type)
        expect([...got.lines].sort(), `series of ${name}`).toEqual([...want.lines].sort())
      }
    })
  }
})
