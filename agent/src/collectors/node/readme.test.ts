import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { collectorFloorMs } from '#schemas/src/schedulable.ts'
import { NODE_COLLECTORS } from './index.ts'

/**
 * agent/README.md's collector table is the user's list of what can be switched and filtered; it is
 * checked against the collectors' own declarations (and their floors in schemas/src/node-metrics/) so
 * it cannot drift from them.
 */
function expectedTable(): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|')
  const rows = NODE_COLLECTORS.map((c) => {
    const options = Object.entries(c.options ?? {})
      .map(([k, o]) => `\`${k}\` = \`${cell(o.default)}\`: ${cell(o.help)}`)
      .join('<br>')
    const floorMs = collectorFloorMs(c.name)
    const floor = floorMs === 0 ? '' : `${String(floorMs / 1000)} s`
    return `| \`${c.name}\` | ${c.defaultEnabled ? 'on' : 'off'} | ${floor} | ${cell(c.description)} | ${options} |`
  })
  return [
    '| collector | default | at least every | reads | options (`--collector-option <collector>.<option>=…`, default) |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n')
}

/** The table as written, whatever column padding prettier gave it. */
function normalise(table: string): string {
  return table
    .split('\n')
    .map((line) =>
      line
        .replace(/^\|\s*/, '| ')
        .replace(/\s*\|$/, ' |')
        .replace(/\s+\|\s+/g, ' | ')
        .replace(/\| -+ /g, '| --- ')
        .replace(/ \|\s*$/, ' |'),
    )
    .join('\n')
}

describe('agent/README.md', () => {
  it('lists every collector with its default, floor, input and options', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const start = readme.search(/^\| collector +\| default +\|/m)
    expect(start, 'the collector table in agent/README.md').toBeGreaterThan(0)
    const end = readme.indexOf('\n\n', start)
    const written = readme.slice(start, end < 0 ? undefined : end)
    expect(normalise(written), `expected:\n${expectedTable()}`).toBe(normalise(expectedTable()))
  })
})
