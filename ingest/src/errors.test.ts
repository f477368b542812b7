import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { INGEST_ERRORS } from './errors.ts'

/** `| status | CODE |` rows of a Markdown table, or `* | CODE | status |` rows of the doc comment. */
function rows(text: string, pattern: RegExp): Map<string, number> {
  const out = new Map<string, number>()
  for (const m of text.matchAll(pattern)) out.set(m.groups?.code ?? '', Number(m.groups?.status))
  return out
}

describe('the ingest error catalogue', () => {
  const source = readFileSync(new URL('./errors.ts', import.meta.url), 'utf8')
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const inComment = rows(source, /^ \* \| (?<code>[A-Z_]+) +\| (?<status>\d{3}) +\|/gm)
  const inReadme = rows(readme, /^\| +(?<status>\d{3}) \| `(?<code>[A-Z_]+)` +\|/gm)

  it('documents every code with its status, in errors.ts and in ingest/README.md', () => {
    for (const [code, status] of Object.entries(INGEST_ERRORS)) {
      expect({ code, status: inComment.get(code) }).toEqual({ code, status })
      expect({ code, status: inReadme.get(code) }).toEqual({ code, status })
    }
  })

  it('documents no code the gateway does not have (besides the auth codes and fastify’s own)', () => {
    const others = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'BUSY'])
    for (const code of [...inComment.keys(), ...inReadme.keys()])
      if (!others.has(code)) expect(Object.keys(INGEST_ERRORS)).toContain(code)
  })
})
