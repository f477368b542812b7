/**
 * deploy/CONFIGURATION.md is written for operators and checked, not generated: each declared
 * setting (platform/config.ts) has its row, and where the row states a default or a `(min–max)`
 * range, it is the declaration's. static.test.ts checks the other direction (every variable the code
 * reads is documented once, nothing else is).
 */
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { settingBounds, type Setting } from '#platform/config.ts'
import { RETENTION_SETTINGS } from '#schemas/clickhouse/retention.ts'
import { ADMISSION_SETTINGS } from '#schemas/src/admission.ts'
import { AGENT_SETTINGS } from '../../agent/src/config.ts'
import { INGEST_SETTINGS } from '../../ingest/src/config.ts'
import { QUERY_API_SETTINGS } from '../../query-api/src/config.ts'
import { STORAGE_SETTINGS } from '../../storage/src/config.ts'
import { PROCESSOR_SETTINGS } from '../../stream-processors/src/config.ts'

const DECLARED: Record<string, Record<string, object>> = {
  admission: ADMISSION_SETTINGS,
  agent: AGENT_SETTINGS,
  ingest: INGEST_SETTINGS,
  processor: PROCESSOR_SETTINGS,
  'query-api': QUERY_API_SETTINGS,
  retention: RETENTION_SETTINGS,
  storage: STORAGE_SETTINGS,
}

interface Row {
  name: string
  defaultCell: string
  meaning: string
}

/** The Variables table's rows; `\|` inside a cell is a literal bar. */
function rows(): Map<string, Row> {
  const text = readFileSync(join(resolve(import.meta.dirname, '..'), 'CONFIGURATION.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('Variables')) ?? ''
  const out = new Map<string, Row>()
  for (const line of section.split('\n')) {
    const m = /^\| `([A-Z][A-Z0-9_]*)` +\|/.exec(line)
    if (!m) continue
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim().replaceAll('\\|', '|'))
    out.set(m[1] as string, { name: m[1] as string, defaultCell: cells[1] ?? '', meaning: cells[3] ?? '' })
  }
  return out
}

const ROWS = rows()
const settings = (component: string): Setting[] =>
  Object.values(DECLARED[component] ?? {}).filter((s): s is Setting => 'env' in s && 'type' in s)

describe.each(Object.keys(DECLARED))('%s settings and deploy/CONFIGURATION.md', (component) => {
  it('every declared setting has a row', () => {
    expect(
      settings(component)
        .filter((s) => !ROWS.has(s.env))
        .map((s) => s.env),
    ).toEqual([])
  })

  it('a row states the declared default', () => {
    const wrong: string[] = []
    for (const s of settings(component)) {
      if (s.default === undefined || s.default === '') continue
      const cell = ROWS.get(s.env)?.defaultCell ?? ''
      // A default that follows another setting is documented as that setting (`RAW_TTL_DAYS` in
      // seconds, `30`, at least `RAW_TTL_DAYS`): its first value is checked, the rest is prose.
      if (/^`[A-Z][A-Z0-9_]*`/.test(cell)) continue
      if (!cell.startsWith(`\`${String(s.default)}\``))
        wrong.push(`${s.env}: declared ${String(s.default)}, documented ${cell}`)
    }
    expect(wrong).toEqual([])
  })

  it('a range a row states is the declared one', () => {
    const wrong: string[] = []
    for (const s of settings(component)) {
      const stated = /\((\d+)–(\d+)\b/.exec(ROWS.get(s.env)?.meaning ?? '')
      if (!stated) continue
      const { min, max } = settingBounds(s)
      if (Number(stated[1]) !== min || Number(stated[2]) !== max)
        wrong.push(`${s.env}: declared ${String(min)}–${String(max)}, documented ${stated[1]}–${stated[2]}`)
    }
    expect(wrong).toEqual([])
  })

  it('a declared default lies within its bounds', () => {
    for (const s of settings(component)) {
      if (typeof s.default !== 'number') continue
      const { min = -Infinity, max = Infinity } = settingBounds(s)
      expect(s.default, s.env).toBeGreaterThanOrEqual(min)
      expect(s.default, s.env).toBeLessThanOrEqual(max)
    }
  })
})

describe('the check itself', () => {
  it('reads the table: a row with an escaped bar, a range', () => {
    expect(ROWS.get('AGENT_VMSTAT_FIELDS')?.defaultCell).toContain('|pswp|')
    expect(ROWS.get('AGENT_INTERVAL_MS')?.meaning).toContain('(10–10000)')
  })
})
