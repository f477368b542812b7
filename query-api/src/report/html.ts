/**
 * A report as one self-contained HTML file: inline styles, charts as inline SVG drawn here, no
 * script, no font, no link to anything. Host names, labels and facts are the tenant's data: every
 * one goes through `escapeHtml`, and a Content-Security-Policy that allows no script at all stands
 * behind that in case anything were ever missed.
 */
import type { FamilyDef } from './families.ts'
import { FLEET_TOP, type FleetReport, type HostReport } from './collect.ts'
import { SPIKE_GROUPS } from './families.ts'
import type { Sample } from './stats.ts'

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${String(c.charCodeAt(0))};`)
}

const SI = ['', 'k', 'M', 'G', 'T', 'P']

export function formatValue(v: number | null, unit: FamilyDef['unit']): string {
  if (v === null) return '–'
  if (unit === 'percent') return `${v.toFixed(1)} %`
  if (unit === 'load') return v.toFixed(2)
  let x = v
  let i = 0
  while (Math.abs(x) >= 1000 && i < SI.length - 1) {
    x /= 1000
    i++
  }
  return `${x.toFixed(i === 0 ? 0 : 1)} ${SI[i] ?? ''}B/s`
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${String(s)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${String(m)} min ${String(s % 60).padStart(2, '0')} s`
  const h = Math.floor(m / 60)
  return `${String(h)} h ${String(m % 60).padStart(2, '0')} min`
}

/** UTC, to the second: a report is read later and elsewhere, where the reader's zone is unknown. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** A number for a data attribute: what the cell shows, unrounded, for machines and tests. */
function dataValue(v: number | null): string {
  return v === null ? '' : String(v)
}

const CHART_W = 720
const CHART_H = 120
const PAD_L = 56
const PAD_B = 18

/** One series as an SVG line chart, gaps left open, with the threshold dashed when there is one. */
export function lineChart(
  samples: readonly Sample[],
  o: { fromMs: number; toMs: number; unit: FamilyDef['unit']; threshold?: number | undefined; label: string },
): string {
  const values = samples.flatMap((s) => (s.value === null ? [] : [s.value]))
  let top = Math.max(o.threshold ?? 0, ...values, 0)
  if (o.unit === 'percent') top = Math.max(top, 100)
  if (top <= 0) top = 1
  const w = CHART_W - PAD_L
  const h = CHART_H - PAD_B
  const x = (t: number): number => PAD_L + ((t - o.fromMs) / Math.max(1, o.toMs - o.fromMs)) * w
  const y = (v: number): number => h - (v / top) * (h - 4)
  const paths: string[] = []
  let run: string[] = []
  const flush = (): void => {
    if (run.length === 1) run.push(run[0] as string)
    if (run.length > 0) paths.push(`<polyline points="${run.join(' ')}"/>`)
    run = []
  }
  for (const s of samples) {
    if (s.value === null) flush()
    else run.push(`${x(s.tMs).toFixed(1)},${y(s.value).toFixed(1)}`)
  }
  flush()
  const threshold =
    o.threshold === undefined
      ? ''
      : `<line class="threshold" x1="${String(PAD_L)}" x2="${String(CHART_W)}" y1="${y(o.threshold).toFixed(1)}" y2="${y(o.threshold).toFixed(1)}"/>`
  const label = (text: string, xx: number, yy: number, anchor: string): string =>
    `<text x="${xx.toFixed(1)}" y="${yy.toFixed(1)}" text-anchor="${anchor}">${escapeHtml(text)}</text>`
  return `<svg class="chart" viewBox="0 0 ${String(CHART_W)} ${String(CHART_H)}" role="img" aria-label="${escapeHtml(o.label)}" xmlns="http://www.w3.org/2000/svg">
<rect class="frame" x="${String(PAD_L)}" y="0" width="${String(w)}" height="${String(h)}"/>
${label(formatValue(top, o.unit), PAD_L - 4, 10, 'end')}${label(formatValue(0, o.unit), PAD_L - 4, h, 'end')}
${label(formatTime(o.fromMs), PAD_L, CHART_H - 4, 'start')}${label(formatTime(o.toMs), CHART_W, CHART_H - 4, 'end')}
${threshold}<g class="line">${paths.join('')}</g></svg>`
}

const STYLE = `
:root { color-scheme: light; }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; margin: 24px auto; max-width: 900px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; word-break: break-all; }
h2 { font-size: 16px; margin: 24px 0 8px; border-bottom: 1px solid #d8dce4; padding-bottom: 4px; }
.muted { color: #5b6477; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { color: #5b6477; } dl.facts dd { margin: 0; word-break: break-word; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: right; padding: 3px 8px; border-bottom: 1px solid #eceef2; white-space: nowrap; }
th:first-child, td.name { text-align: left; white-space: normal; word-break: break-word; }
thead th { color: #5b6477; font-weight: 600; }
figure { margin: 10px 0 14px; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 2px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { font-size: 10px; fill: #5b6477; }
svg.chart .frame { fill: #fafbfc; stroke: #d8dce4; }
svg.chart .line polyline { fill: none; stroke: #2f6fdb; stroke-width: 1.3; }
svg.chart .threshold { stroke: #d0342c; stroke-dasharray: 4 3; }
.above { color: #b3261e; font-weight: 600; }
footer { margin-top: 28px; font-size: 11px; }
@media print { body { margin: 0 auto; } h2 { break-after: avoid; } }
`

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`
}

function windowLine(r: { fromMs: number; toMs: number; stepMs: number; source: string }): string {
  return `<p class="muted" id="report-window">${escapeHtml(formatTime(r.fromMs))} – ${escapeHtml(formatTime(r.toMs))} (${escapeHtml(formatDuration(r.toMs - r.fromMs))}); one value every ${escapeHtml(formatDuration(r.stepMs))}, read from ${escapeHtml(r.source)}</p>`
}

function footer(generatedAtMs: number): string {
  return `<footer class="muted">Generated by procstream at ${escapeHtml(formatTime(generatedAtMs))}. Percentiles are nearest-rank over the report's steps; time above a threshold counts each step whose value is above it.</footer>`
}

export function renderHostReport(r: HostReport): string {
  const name = r.hostname || r.host
  const facts = [{ id: 'host', term: 'Host id', value: r.host }, ...r.facts]
    .map(
      (f) => `<dt>${escapeHtml(f.term)}</dt><dd data-fact="${escapeHtml(f.id)}">${escapeHtml(f.value)}</dd>`,
    )
    .join('\n')
  const rows = r.families
    .map((f) => {
      const s = f.summary
      const unit = f.def.unit
      const above =
        s.aboveMs === null
          ? '<td data-stat="above">–</td>'
          : `<td data-stat="above" data-value="${String(s.aboveMs)}"${s.aboveMs > 0 ? ' class="above"' : ''}>${escapeHtml(formatDuration(s.aboveMs))}</td>`
      const limit = f.threshold === undefined ? '–' : `&gt; ${escapeHtml(formatValue(f.threshold, unit))}`
      return `<tr data-family="${escapeHtml(f.def.id)}"><td class="name">${escapeHtml(f.def.title)}</td>
<td data-stat="p50" data-value="${dataValue(s.p50)}">${escapeHtml(formatValue(s.p50, unit))}</td>
<td data-stat="p95" data-value="${dataValue(s.p95)}">${escapeHtml(formatValue(s.p95, unit))}</td>
<td data-stat="max" data-value="${dataValue(s.max)}">${escapeHtml(formatValue(s.max, unit))}</td>
<td data-stat="threshold">${limit}</td>${above}</tr>`
    })
    .join('\n')
  const spikes =
    r.spikes.length === 0
      ? '<p class="muted">No data for any spike.</p>'
      : `<table><thead><tr><th>Resource</th><th>Series</th><th>Time</th><th>Value</th></tr></thead><tbody>
${r.spikes
  .map(
    (s) =>
      `<tr data-spike="${escapeHtml(s.group)}" data-time="${String(s.tMs)}" data-value="${String(s.value)}"><td class="name">${escapeHtml(SPIKE_GROUPS.find((g) => g.id === s.group)?.title ?? s.group)}</td><td class="name">${escapeHtml(s.family)}</td><td>${escapeHtml(formatTime(s.tMs))}</td><td>${escapeHtml(formatValue(s.value, s.unit))}</td></tr>`,
  )
  .join('\n')}
</tbody></table>`
  const charts = r.families
    .filter((f) => f.summary.count > 0)
    .map(
      (f) =>
        `<figure data-chart="${escapeHtml(f.def.id)}"><figcaption>${escapeHtml(f.def.title)}</figcaption>${lineChart(f.samples, { fromMs: r.fromMs, toMs: r.toMs, unit: f.def.unit, threshold: f.threshold, label: f.def.title })}</figure>`,
    )
    .join('\n')
  return page(
    `Host report: ${name}`,
    `<header><h1>Host report: <span id="report-host">${escapeHtml(name)}</span></h1>
${windowLine(r)}</header>
<section id="facts"><h2>Host</h2><dl class="facts">
${facts}
</dl></section>
<section id="summary"><h2>Summary</h2>
<table><thead><tr><th>Family</th><th>p50</th><th>p95</th><th>max</th><th>threshold</th><th>time above</th></tr></thead><tbody>
${rows}
</tbody></table></section>
<section id="spikes"><h2>Top spikes</h2>
${spikes}</section>
<section id="charts"><h2>Charts</h2>
${charts || '<p class="muted">No data in this window.</p>'}
</section>
${footer(r.generatedAtMs)}`,
  )
}

export function renderFleetReport(r: FleetReport): string {
  const sections = r.top
    .map(({ resource, rows }) => {
      const body =
        rows.length === 0
          ? '<p class="muted">No host has this data in the window.</p>'
          : `<table><thead><tr><th>#</th><th>Host</th><th>mean</th><th>p95</th><th>max</th><th>max at</th></tr></thead><tbody>
${rows
  .map(
    (h, i) =>
      `<tr data-host="${escapeHtml(h.host)}"><td>${String(i + 1)}</td><td class="name">${escapeHtml(h.hostname || h.host)}</td><td data-stat="mean" data-value="${String(h.mean)}">${escapeHtml(formatValue(h.mean, resource.unit))}</td><td data-stat="p95" data-value="${dataValue(h.p95)}">${escapeHtml(formatValue(h.p95, resource.unit))}</td><td data-stat="max" data-value="${dataValue(h.max)}">${escapeHtml(formatValue(h.max, resource.unit))}</td><td>${h.maxAtMs === null ? '–' : escapeHtml(formatTime(h.maxAtMs))}</td></tr>`,
  )
  .join('\n')}
</tbody></table>`
      const first = rows[0]
      const chart =
        first === undefined
          ? ''
          : `<figure><figcaption>${escapeHtml(first.hostname || first.host)}</figcaption>${lineChart(first.samples, { fromMs: r.fromMs, toMs: r.toMs, unit: resource.unit, label: `${resource.title}: ${first.hostname || first.host}` })}</figure>`
      return `<section data-resource="${resource.id}"><h2>Top hosts by ${escapeHtml(resource.title)}</h2>
${body}
${chart}</section>`
    })
    .join('\n')
  return page(
    'Fleet report',
    `<header><h1>Fleet report</h1>
${windowLine(r)}
<p id="fleet-hosts">${String(r.hostCount)} host${r.hostCount === 1 ? '' : 's'}; per resource the ${String(FLEET_TOP)} with the highest mean over the window.</p></header>
${sections}
${footer(r.generatedAtMs)}`,
  )
}
