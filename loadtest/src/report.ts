import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** One second of the run, as charted. */
export interface TimelinePoint {
  t: number
  offeredValuesPerS: number
  producedValuesPerS: number
  storedValuesPerS: number
  lagMessages: number
  freshnessP99Ms: number | null
  cpuPercent: Record<string, number>
  rssMb: Record<string, number>
}

type Quantiles = { p50: number; p95: number; p99: number; max: number }

export interface ProcessFigures {
  /** Mean share of one core over the load window (load start until the backlog drained). */
  cpu_percent: number
  peak_rss_mb: number
  /**
   * The process's CPU time over the load window divided by the values stored in that window: what
   * storing one value cost this process. Null when nothing was stored.
   */
  cpu_us_per_value: number | null
}

/**
 * Each process's figures over the load window: `cpuSeconds` and `storedValues` must cover the same
 * window (main.ts samples both in one loop, from before the first value to the end of the drain).
 */
export function processFigures(
  cpuSeconds: ReadonlyMap<string, number>,
  peakRssBytes: ReadonlyMap<string, number>,
  windowS: number,
  storedValues: number,
): Record<string, ProcessFigures> {
  return Object.fromEntries(
    [...cpuSeconds].map(([name, cpu]) => [
      name,
      {
        cpu_percent: (cpu / windowS) * 100,
        peak_rss_mb: (peakRssBytes.get(name) ?? 0) / 2 ** 20,
        cpu_us_per_value: storedValues > 0 ? (cpu * 1e6) / storedValues : null,
      },
    ]),
  )
}

export interface Report {
  scenario: string
  options: { hosts: number; interval_ms: number; duration_s: number; partitions: number; spike: unknown }
  machine: { cpus: number; model: string }
  audit: {
    produced: number
    stored: number
    lost: number
    duplicated: number
    raw_values: number
    expected_raw_values: number
    rollup_counts: Record<string, number>
    exact: boolean
  }
  throughput: {
    values_per_s: number
    offered_values_per_s: number
    produced_values_per_s: number
    envelopes_per_s: number
    drain_s: number
  }
  freshness_ms: Quantiles & { samples: number }
  query_latency_ms: Quantiles & { samples: number }
  processes: Record<string, ProcessFigures>
  lag: { max_messages: number }
  timeline: TimelinePoint[]
  baseline?: { file: string; regressions: string[] }
}

/** Figures compared with a baseline: path in the report and whether more is better. */
const COMPARED: [string, (r: Report) => number, 'higher' | 'lower'][] = [
  ['throughput.values_per_s', (r) => r.throughput.values_per_s, 'higher'],
  ['freshness_ms.p50', (r) => r.freshness_ms.p50, 'lower'],
  ['freshness_ms.p99', (r) => r.freshness_ms.p99, 'lower'],
  ['query_latency_ms.p50', (r) => r.query_latency_ms.p50, 'lower'],
  ['query_latency_ms.p99', (r) => r.query_latency_ms.p99, 'lower'],
  ['processes.pipeline.cpu_us_per_value', (r) => r.processes.pipeline?.cpu_us_per_value ?? NaN, 'lower'],
]

/** Every figure more than 20 % worse than the baseline's, described. Lost or duplicated always is. */
export function compareWithBaseline(current: Report, baseline: Report): string[] {
  const out: string[] = []
  for (const [name, get, better] of COMPARED) {
    const now = get(current)
    const then = get(baseline)
    if (!(then > 0)) continue
    const worse = better === 'higher' ? now < then * 0.8 : now > then * 1.2
    if (worse) out.push(`${name}: ${fmt(now)} against ${fmt(then)} (${pct(now, then)})`)
  }
  if (current.audit.lost > 0 || current.audit.duplicated > 0)
    out.push(`audit: ${String(current.audit.lost)} lost, ${String(current.audit.duplicated)} duplicated`)
  return out
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(2)
}

function pct(now: number, then: number): string {
  const d = ((now - then) / then) * 100
  return `${d >= 0 ? '+' : ''}${d.toFixed(0)} %`
}

export function markdown(r: Report): string {
  const a = r.audit
  const lines = [
    `# Load test: ${r.scenario}`,
    '',
    `${String(r.options.hosts)} hosts every ${String(r.options.interval_ms)} ms for ${String(r.options.duration_s)} s, ${String(r.options.partitions)} partitions, on ${String(r.machine.cpus)} × ${r.machine.model}.`,
    '',
    '## Audit',
    '',
    '| produced | stored | lost | duplicated | raw values (expected) | 10 s | 1 min | 1 h | exact |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |',
    `| ${a.produced.toLocaleString('en')} | ${a.stored.toLocaleString('en')} | ${String(a.lost)} | ${String(a.duplicated)} | ${a.raw_values.toLocaleString('en')} (${a.expected_raw_values.toLocaleString('en')}) | ${(a.rollup_counts['10s'] ?? 0).toLocaleString('en')} | ${(a.rollup_counts['1m'] ?? 0).toLocaleString('en')} | ${(a.rollup_counts['1h'] ?? 0).toLocaleString('en')} | ${a.exact ? 'yes' : '**no**'} |`,
    '',
    '## Throughput',
    '',
    '| offered values/s | produced values/s | stored values/s | envelopes/s | drain after load |',
    '| ---: | ---: | ---: | ---: | ---: |',
    `| ${fmt(r.throughput.offered_values_per_s)} | ${fmt(r.throughput.produced_values_per_s)} | ${fmt(r.throughput.values_per_s)} | ${fmt(r.throughput.envelopes_per_s)} | ${r.throughput.drain_s.toFixed(1)} s |`,
    '',
    '## Latency',
    '',
    '| ms | p50 | p95 | p99 | max | samples |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    `| freshness (sample → queryable) | ${fmt(r.freshness_ms.p50)} | ${fmt(r.freshness_ms.p95)} | ${fmt(r.freshness_ms.p99)} | ${fmt(r.freshness_ms.max)} | ${String(r.freshness_ms.samples)} |`,
    `| dashboard query under load | ${fmt(r.query_latency_ms.p50)} | ${fmt(r.query_latency_ms.p95)} | ${fmt(r.query_latency_ms.p99)} | ${fmt(r.query_latency_ms.max)} | ${String(r.query_latency_ms.samples)} |`,
    '',
    `Largest consumer lag: ${String(r.lag.max_messages)} messages.`,
    '',
    '## Processes',
    '',
    '| process | CPU % of a core (mean) | CPU-µs per stored value | peak RSS MB |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(r.processes).map(
      ([name, p]) =>
        `| ${name} | ${p.cpu_percent.toFixed(0)} | ${p.cpu_us_per_value === null ? '–' : p.cpu_us_per_value.toFixed(2)} | ${p.peak_rss_mb.toFixed(0)} |`,
    ),
  ]
  if (r.baseline) {
    lines.push('', `## Against ${r.baseline.file}`, '')
    lines.push(
      ...(r.baseline.regressions.length === 0
        ? ['No figure is more than 20 % worse.']
        : r.baseline.regressions.map((x) => `- **worse**: ${x}`)),
    )
  }
  return `${lines.join('\n')}\n`
}

/** A self-contained page: uPlot inlined from its package, the timeline as JSON. */
export function html(r: Report): string {
  const dist = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist')
  const js = readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8')
  const css = readFileSync(join(dist, 'uPlot.min.css'), 'utf8')
  const data = JSON.stringify(r.timeline).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>procstream load test: ${r.scenario}</title>
<style>${css} body{font:14px system-ui,sans-serif;margin:24px;max-width:1100px} h2{margin-top:32px}</style>
<script>${js}</script></head><body>
<h1>Load test: ${r.scenario}</h1>
<p>${String(r.options.hosts)} hosts every ${String(r.options.interval_ms)} ms for ${String(r.options.duration_s)} s.
Audit: ${String(r.audit.produced)} produced, ${String(r.audit.stored)} stored, ${String(r.audit.lost)} lost, ${String(r.audit.duplicated)} duplicated.
Stored ${Math.round(r.throughput.values_per_s).toLocaleString('en')} values/s; freshness p99 ${fmt(r.freshness_ms.p99)} ms.</p>
<h2>Throughput (values/s)</h2><div id="throughput"></div>
<h2>Consumer lag (messages)</h2><div id="lag"></div>
<h2>Freshness p99 per second (ms)</h2><div id="freshness"></div>
<h2>CPU (% of a core)</h2><div id="cpu"></div>
<script>
const t = ${data};
const x = t.map(p => p.t);
const chart = (id, series, cols) => new uPlot({ width: 1000, height: 260, series: [{}, ...series] }, [x, ...cols], document.getElementById(id));
chart('throughput', [{label:'offered',stroke:'#888'},{label:'produced',stroke:'#36c'},{label:'stored',stroke:'#2a2'}],
  [t.map(p=>p.offeredValuesPerS), t.map(p=>p.producedValuesPerS), t.map(p=>p.storedValuesPerS)]);
chart('lag', [{label:'lag',stroke:'#c63'}], [t.map(p=>p.lagMessages)]);
chart('freshness', [{label:'p99',stroke:'#a3c'}], [t.map(p=>p.freshnessP99Ms)]);
const names = [...new Set(t.flatMap(p => Object.keys(p.cpuPercent)))];
const colours = ['#36c','#2a2','#c63','#a3c','#999'];
chart('cpu', names.map((n,i)=>({label:n,stroke:colours[i%colours.length]})), names.map(n => t.map(p => p.cpuPercent[n] ?? null)));
</script></body></html>
`
}

export function writeReport(dir: string, r: Report): void {
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(r, null, 2)}\n`)
  writeFileSync(join(dir, 'report.md'), markdown(r))
  writeFileSync(join(dir, 'report.html'), html(r))
}
