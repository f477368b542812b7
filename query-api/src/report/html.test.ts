import { describe, expect, it } from 'vitest'
import type { FleetReport, HostReport } from './collect.ts'
import { FAMILIES } from './families.ts'
import { escapeHtml, formatDuration, formatValue, renderFleetReport, renderHostReport } from './html.ts'
import { summarize } from './stats.ts'

const EVIL = '<img src=x onerror="alert(1)">'

/**
 * No script, no handler, no reference to anything outside the file: checked on the markup itself
 * (a `<` in the tenant's data is escaped, so it never opens a tag here).
 */
export function assertSelfContained(html: string): void {
  const tags = html.match(/<[a-zA-Z!/][^>]*>/g) ?? []
  expect(tags.length).toBeGreaterThan(10)
  // Attribute values are quoted and a quote in the data is escaped: what is left is the markup.
  for (const tag of tags.map((t) => t.replace(/"[^"]*"/g, '""'))) {
    expect(tag).not.toMatch(/^<(script|img|link|iframe|object|embed|base|form)/i)
    expect(tag).not.toMatch(/\son[a-z]+=/i)
    expect(tag).not.toMatch(/\s(src|href|srcset|action|formaction|background|poster)=/i)
  }
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? ''
  expect(style).not.toMatch(/url\(|@import/i)
  expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(
    /(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i,
  )
}

function hostReport(): HostReport {
  const samples = [10, 95, 20, null, 99].map((value, i) => ({ tMs: 1_000 * i, value }))
  return {
    kind: 'host',
    host: `id-${EVIL}`,
    hostname: EVIL,
    facts: [
      { id: 'os', term: 'OS', value: `Debian ${EVIL}` },
      { id: 'cpu', term: 'CPU', value: '4 CPUs · <b>fast</b>' },
    ],
    fromMs: 0,
    toMs: 5_000,
    stepMs: 1_000,
    source: 'metrics_raw',
    families: FAMILIES.map((def) => ({
      def,
      threshold: def.threshold,
      samples,
      summary: summarize(samples, def.threshold, 1_000),
    })),
    spikes: [{ group: 'cpu', family: 'CPU busy', tMs: 4_000, value: 99, unit: 'percent' }],
    generatedAtMs: 0,
  }
}

describe('report HTML', () => {
  it('escapes every character that could open markup or an attribute', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe(
      '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;',
    )
  })

  it('shows host names, ids and facts as text, never as markup', () => {
    const html = renderHostReport(hostReport())
    assertSelfContained(html)
    expect(html).toContain('&#60;img src=x onerror=&#34;alert(1)&#34;&#62;')
    expect(html).toContain('4 CPUs · &#60;b&#62;fast&#60;/b&#62;')
    expect(html).not.toContain('<b>fast')
    expect(html).toContain('Content-Security-Policy" content="default-src \'none\'')
  })

  it('puts each statistic in its cell, formatted and as a number', () => {
    const html = renderHostReport(hostReport())
    const row = /<tr data-family="cpu_busy">([\s\S]*?)<\/tr>/.exec(html)?.[1] ?? ''
    expect(row).toContain('data-stat="p50" data-value="20">20.0 %')
    expect(row).toContain('data-stat="p95" data-value="99">99.0 %')
    expect(row).toContain('data-stat="max" data-value="99">99.0 %')
    // 95 held 1 s, 99 (the last sample) one step: 2 s above 90 %.
    expect(row).toContain('data-stat="above" data-value="2000" class="above">2 s')
    expect((html.match(/<svg /g) ?? []).length).toBe(FAMILIES.length)
    expect(html).toContain('data-spike="cpu" data-time="4000" data-value="99"')
  })

  it('renders a fleet report with escaped host names', () => {
    const report: FleetReport = {
      kind: 'fleet',
      fromMs: 0,
      toMs: 60_000,
      stepMs: 10_000,
      source: 'metrics_raw',
      hostCount: 1,
      top: [
        {
          resource: { id: 'cpu', title: 'CPU busy', unit: 'percent' },
          rows: [
            {
              host: 'h1',
              hostname: EVIL,
              mean: 50,
              p95: 60,
              max: 70,
              maxAtMs: 10_000,
              samples: [{ tMs: 0, value: 50 }],
            },
          ],
        },
      ],
      generatedAtMs: 0,
    }
    const html = renderFleetReport(report)
    assertSelfContained(html)
    expect(html).toContain('&#60;img src=x')
    expect(html).toContain('data-stat="mean" data-value="50">50.0 %')
  })

  it('formats units and durations', () => {
    expect(formatValue(40e6, 'bytes_per_s')).toBe('40.0 MB/s')
    expect(formatValue(999, 'bytes_per_s')).toBe('999 B/s')
    expect(formatValue(3.14159, 'load')).toBe('3.14')
    expect(formatValue(null, 'percent')).toBe('–')
    expect(formatDuration(59_400)).toBe('59 s')
    expect(formatDuration(150_000)).toBe('2 min 30 s')
    expect(formatDuration(3_723_000)).toBe('1 h 02 min')
  })
})
