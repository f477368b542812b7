/**
 * Side by side with Debian's node_exporter 1.5 on this machine, every collector both have switched
 * on: for the same /proc and /sys, the agent prints the same series (names, labels, units). Counters
 * read by the agent lie between two node_exporter scrapes taken around it; info series carry the same
 * labels; gauges agree within the bracket of the two scrapes (widened a little for values that move
 * between reads). The agent follows node_exporter 1.12 (its fixture test is exact against 1.12's
 * output), so names 1.5 did not have, or has under another name, are listed below with the reason.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findFreePorts } from '../../../deploy/local/ports.ts'
import { metricName, parsePrometheusText, type SeriesMap } from '#test/support/prometheus-text.ts'
import { waitFor } from '#test/support/wait-for.ts'
import { NODE_COLLECTORS } from '../../src/collectors/node/index.ts'
import { metricInfo } from '#schemas/src/node-exporter.ts'
import type { Sample } from '#schemas/src/families.ts'
import { DEFAULT_DISK_EXCLUDE } from '../../src/collectors/diskstats.ts'
import { formatPrometheus } from '../../src/format/prometheus.ts'
import { Sampler } from '../../src/sampler.ts'
import { defaultSchedule, SCHEDULED } from '../../src/schedule.ts'

const BINARY = '/usr/bin/prometheus-node-exporter'
/** node_exporter's collectors behind the agent's typed families. */
const TYPED = ['cpu', 'meminfo', 'netdev', 'diskstats', 'loadavg', 'stat', 'pressure', 'vmstat', 'filesystem']
/** The agent's collectors that are part of another node_exporter collector, or newer than 1.5. */
const NOT_A_COLLECTOR_IN_1_5: Record<string, string[]> = {
  cpu_info: ['--collector.cpu.info'],
  diskinfo: [],
  watchdog: [],
}
const COLLECTOR_FLAGS = [
  // 1.12's default, which the agent follows: zram is left out too (1.5 kept it).
  `--collector.diskstats.device-exclude=${DEFAULT_DISK_EXCLUDE.source}`,
  ...TYPED.map((c) => `--collector.${c}`),
  ...NODE_COLLECTORS.filter((c) => c.defaultEnabled).flatMap(
    (c) => NOT_A_COLLECTOR_IN_1_5[c.name] ?? [`--collector.${c.name}`],
  ),
]

/**
 * Names node_exporter 1.5 prints that the agent does not, each with why. Matched against the
 * metric name.
 */
const ONLY_NODE_EXPORTER: [RegExp, string][] = [
  [/^node_(exporter_build_info|scrape_collector_)/, "node_exporter's own build and scrape metrics"],
  [
    /^node_network_receive_nohandler_total$/,
    "read over netlink by 1.5's netdev; /proc/net/dev has no such column",
  ],
  [/^node_textfile_scrape_error$/, 'the textfile collector is not one the agent has'],
  [
    /^node_memory_/,
    'since 1.9 node_exporter prints a fixed list of /proc/meminfo fields (NODE_EXPORTER_MEMINFO_FIELDS), 1.5 printed every line; checked below for the fields both print',
  ],
]

/** Names the agent prints that node_exporter 1.5 does not: added in a later release. */
const ONLY_AGENT: [RegExp, string][] = [
  [/^node_watchdog_/, 'the watchdog collector came after 1.5'],
  [/^node_pressure_irq_stalled_seconds_total$/, 'the irq pressure file was read from 1.7 on'],
  [/^node_cpu_frequency_hertz$/, "node_cpu_info's /proc/cpuinfo frequency came after 1.5"],
  [/^node_netstat_TcpExt_(TCPOFOQueue|TCPRcvQDrop)$/, "in netstat's default field filter since after 1.5"],
  [
    /^node_softnet_(backlog_len|cpu_collision_total|flow_limit_count_total|received_rps_total)$/,
    "softnet's columns beyond the first three came after 1.5",
  ],
]

/** Labels node_exporter added after 1.5 to a name both print: left out of the agent's series to compare. */
const LABELS_ADDED_AFTER_1_5: Record<string, string[]> = {
  node_network_info: ['adminstate'],
  node_disk_info: ['rotational'],
}

/** Series of a shared name one side may print and the other not, each with why. */
const SERIES_ON_ONE_SIDE: [RegExp, string][] = [
  [
    /^node_network_(receive|transmit)_\w+\{device="lo"\}$/,
    "Debian's 1.5 build leaves lo out of netdev by default; upstream, 1.12 and the agent keep it",
  ],
  [
    /^node_processes_(threads_)?state\{/,
    'a state no process or thread was in at one of the reads (R, D, Z come and go)',
  ],
]

/**
 * Counts of tasks in a state at the instant of reading (running, blocked, by process state): on a
 * loaded machine they swing between two reads a millisecond apart, so only their presence and sign
 * are compared; so are the file handles allocated, which the agent's read raises by its own open files.
 */
const INSTANT_COUNTS =
  /^node_(procs_(running|blocked)|processes_(threads_)?state|processes_threads|processes_pids|filefd_allocated)$/

/** Gauges that move between two reads a second apart: compared within the bracket, widened. */
const TOLERANCE = { relative: 0.05, absolute: 2 }

let exporter: ChildProcess | undefined
let url = ''

async function scrape(): Promise<SeriesMap> {
  const body = await (await fetch(url)).text()
  return new Map([...parsePrometheusText(body)].filter(([k]) => k.startsWith('node_')))
}

/**
 * What `--once` prints, read in this process: a process started between the two scrapes (file
 * handles, sockets, page tables of its own) would move the very gauges being compared.
 */
function agentOnce(): SeriesMap {
  const problems: string[] = []
  const sampler = new Sampler('/proc', (family, problem) => problems.push(`${family}: ${problem}`), {})
  const schedule = defaultSchedule(1000)
  const samples = SCHEDULED.filter((name) => name !== 'agent' && schedule[name]?.enabled === true)
    .map((name) => sampler.sample(name))
    .filter((s): s is Sample => s !== undefined)
  sampler.close()
  expect(problems).toEqual([])
  const series = parsePrometheusText(formatPrometheus(samples))
  return new Map([...series].map(([key, value]) => [withoutNewerLabels(key), value]))
}

function withoutNewerLabels(key: string): string {
  const added = LABELS_ADDED_AFTER_1_5[metricName(key)]
  if (!added) return key
  const labels = key.slice(key.indexOf('{') + 1, -1)
  const kept = labels.split(/,(?=[a-zA-Z_]+=")/).filter((l) => !added.includes(l.slice(0, l.indexOf('='))))
  return `${metricName(key)}{${kept.join(',')}}`
}

const matches = (list: [RegExp, string][], name: string): boolean => list.some(([re]) => re.test(name))

beforeAll(async () => {
  if (!existsSync(BINARY)) {
    throw new Error(
      `${BINARY} not found: install Debian's node_exporter (apt-get install -y prometheus-node-exporter)`,
    )
  }
  const [port] = await findFreePorts(1)
  url = `http://127.0.0.1:${String(port)}/metrics`
  exporter = spawn(
    BINARY,
    [`--web.listen-address=127.0.0.1:${String(port)}`, '--collector.disable-defaults', ...COLLECTOR_FLAGS],
    { stdio: 'ignore' },
  )
  await waitFor('node_exporter to answer', async () => ((await fetch(url)).ok ? true : undefined), 20_000)
})

afterAll(() => {
  exporter?.kill('SIGKILL')
})

describe('agent --once --format prometheus against node_exporter 1.5, every shared collector on', () => {
  it('prints the same series with the same values', async () => {
    const before = await scrape()
    const ours = agentOnce()
    const after = await scrape()

    const theirNames = new Set([...after.keys()].map(metricName))
    const ourNames = new Set([...ours.keys()].map(metricName))
    const onlyTheirs = [...theirNames].filter((n) => !ourNames.has(n) && !matches(ONLY_NODE_EXPORTER, n))
    const onlyOurs = [...ourNames].filter((n) => !theirNames.has(n) && !matches(ONLY_AGENT, n))
    expect({ onlyTheirs: onlyTheirs.sort(), onlyOurs: onlyOurs.sort() }).toEqual({
      onlyTheirs: [],
      onlyOurs: [],
    })

    // Where both print a name, they print the same series of it.
    const shared = (k: string): boolean => theirNames.has(metricName(k)) && ourNames.has(metricName(k))
    const compared = (k: string): boolean => shared(k) && !matches(SERIES_ON_ONE_SIDE, k)
    const theirs = [...after.keys()].filter(compared).sort()
    const mine = [...ours.keys()].filter(compared).sort()
    expect({ missing: theirs.filter((k) => !ours.has(k)), extra: mine.filter((k) => !after.has(k)) }).toEqual(
      {
        missing: [],
        extra: [],
      },
    )

    const wrong: string[] = []
    let counters = 0
    let gauges = 0
    for (const [key, value] of ours) {
      const lo = before.get(key)
      const hi = after.get(key)
      if (lo === undefined || hi === undefined) continue
      const name = metricName(key)
      const low = Math.min(lo, hi)
      const high = Math.max(lo, hi)
      if (metricInfo(name)?.type === 'counter' || name.endsWith('_total')) {
        counters++
        if (!(value >= low && value <= high))
          wrong.push(`${key}: ${String(value)} not in [${String(low)}, ${String(high)}]`)
      } else if (INSTANT_COUNTS.test(name)) {
        if (!(value >= 0)) wrong.push(`${key}: ${String(value)} is not a count`)
      } else {
        gauges++
        const slack = Math.max(
          TOLERANCE.absolute,
          TOLERANCE.relative * Math.max(Math.abs(low), Math.abs(high)),
        )
        if (!(value >= low - slack && value <= high + slack))
          wrong.push(`${key}: ${String(value)} not near [${String(low)}, ${String(high)}]`)
      }
    }
    expect(wrong).toEqual([])
    expect(counters).toBeGreaterThan(100)
    expect(gauges).toBeGreaterThan(50)
    // The host metadata the dashboards select on.
    for (const name of ['node_uname_info', 'node_os_info', 'node_cpu_info', 'node_time_seconds'])
      expect(ourNames.has(name), name).toBe(true)
  })
})
