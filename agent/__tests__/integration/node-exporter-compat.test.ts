/**
 * Side by side with Debian's node_exporter 1.5 on this machine: for the same /proc, the agent prints
 * the same series (names, labels, units). Values that cannot change (MemTotal, boot time) are equal;
 * counters read by the agent lie between two node_exporter scrapes taken around it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findFreePorts } from '../../../deploy/local/ports.ts'
import { NodeChild } from '../../../test/support/node-child.ts'
import { metricName, parsePrometheusText, type SeriesMap } from '../../../test/support/prometheus-text.ts'
import { waitFor } from '../../../test/support/wait-for.ts'

const BINARY = '/usr/bin/prometheus-node-exporter'
const COLLECTORS = [
  'cpu',
  'meminfo',
  'netdev',
  'diskstats',
  'loadavg',
  'stat',
  'pressure',
  'vmstat',
  'filesystem',
]
// Series node_exporter has and the agent deliberately does not: its own build info, and what needs
// sysfs/udev or netlink.
const ONLY_NODE_EXPORTER =
  /^node_(disk_info|network_receive_nohandler_total|scrape_|cpu_info|disk_device_mapper_info|exporter_build_info)/

let exporter: ChildProcess | undefined
let url = ''

async function scrape(): Promise<SeriesMap> {
  const body = await (await fetch(url)).text()
  const all = parsePrometheusText(body)
  // Keep only what the host collectors report, not node_exporter's own process metrics.
  return new Map([...all].filter(([k]) => k.startsWith('node_') && !k.startsWith('node_scrape_')))
}

async function agentOnce(): Promise<SeriesMap> {
  const child = NodeChild.start('agent/src/main.ts', ['--once', '--format', 'prometheus'])
  const code = await new Promise<number | null>((done) => child.child.once('exit', done))
  expect(code).toBe(0)
  return parsePrometheusText(child.output.filter((l) => !l.startsWith('warning:')).join('\n'))
}

beforeAll(async () => {
  if (!existsSync(BINARY)) {
    throw new Error(
      `${BINARY} not found: install Debian's node_exporter (apt-get install -y prometheus-node-exporter)`,
    )
  }
  const [port] = await findFreePorts(1)
  url = `http://127.0.0.1:${port}/metrics`
  exporter = spawn(
    BINARY,
    [
      `--web.listen-address=127.0.0.1:${port}`,
      '--collector.disable-defaults',
      ...COLLECTORS.map((c) => `--collector.${c}`),
    ],
    { stdio: 'ignore' },
  )
  await waitFor('node_exporter to answer', async () => ((await fetch(url)).ok ? true : undefined), 20_000)
})

afterAll(() => {
  exporter?.kill('SIGKILL')
})

describe('agent --once --format prometheus against node_exporter 1.5', () => {
  it('prints the same series with the same values', async () => {
    const before = await scrape()
    const ours = await agentOnce()
    const after = await scrape()

    const theirs = new Set([...after.keys()].filter((k) => !ONLY_NODE_EXPORTER.test(k)))
    const mine = new Set(ours.keys())
    expect([...mine].filter((k) => !theirs.has(k))).toEqual([])
    expect([...theirs].filter((k) => !mine.has(k))).toEqual([])

    expect(ours.get('node_memory_MemTotal_bytes{}')).toBe(after.get('node_memory_MemTotal_bytes{}'))
    expect(ours.get('node_boot_time_seconds{}')).toBe(after.get('node_boot_time_seconds{}'))
    const sizes = [...ours].filter(([k]) => metricName(k) === 'node_filesystem_size_bytes')
    expect(sizes.length).toBeGreaterThan(0)
    for (const [key, value] of sizes) expect({ key, value }).toEqual({ key, value: after.get(key) })

    let counters = 0
    for (const [key, value] of ours) {
      if (!metricName(key).endsWith('_total')) continue
      const lo = before.get(key)
      const hi = after.get(key)
      if (lo === undefined || hi === undefined) continue
      counters++
      expect({ key, value, inRange: value >= Math.min(lo, hi) && value <= Math.max(lo, hi) }).toEqual({
        key,
        value,
        inRange: true,
      })
    }
    expect(counters).toBeGreaterThan(50)
  })
})
