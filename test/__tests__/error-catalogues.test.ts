import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { AGENT_CATALOGUE, SPOOL_CATALOGUE } from '../../agent/src/errors.ts'
import { INGEST_CATALOGUE } from '../../ingest/src/errors.ts'
import { AUTH_CATALOGUE } from '../../platform/auth/errors.ts'
import { PLATFORM_ERRORS, type ErrorSpec } from '../../platform/errors.ts'
import { PROMQL_CATALOGUE } from '../../query-api/src/promql/errors.ts'
import { QUERY_API_CATALOGUE } from '../../query-api/src/errors.ts'
import { SCHEMA_CATALOGUE } from '../../schemas/src/errors.ts'
import { STORAGE_CATALOGUE } from '../../storage/src/errors.ts'
import { PROCESSOR_CATALOGUE } from '../../stream-processors/src/errors.ts'

interface Documented {
  status: number
  /** From a `retry?` column when the table has one. */
  retryable: boolean | undefined
}

/**
 * The rows of a README's error table: `| status | `CODE`[, `CODE`] | meaning | [retry?] |`. A retry
 * cell starting with "no" means not retryable, anything else ("after Retry-After", "yes") retryable.
 */
function errorTable(readme: string): Map<string, Documented> {
  const lines = readme.split('\n')
  const header = lines.findIndex((l) => /^\| *status *\| *code *\|/.test(l))
  if (header < 0) throw new Error('no `| status | code |` table')
  const hasRetry = /\| *retry\?? *\| *$/.test(lines[header] ?? '')
  const out = new Map<string, Documented>()
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break
    const cells = line.split('|').map((c) => c.trim())
    const status = Number(cells[1])
    const retry = hasRetry ? cells[cells.length - 2] : undefined
    for (const m of (cells[2] ?? '').matchAll(/`([A-Z_]+)`/g)) {
      const code = m[1] ?? ''
      expect(out.has(code), `${code} listed twice`).toBe(false)
      out.set(code, { status, retryable: retry === undefined ? undefined : !retry.startsWith('no') })
    }
  }
  return out
}

function expected(
  catalogues: readonly Record<string, ErrorSpec>[],
  hasRetry: boolean,
): Map<string, Documented> {
  const out = new Map<string, Documented>()
  for (const catalogue of catalogues)
    for (const [code, spec] of Object.entries(catalogue))
      out.set(code, { status: spec.status ?? NaN, retryable: hasRetry ? spec.retryable : undefined })
  return out
}

function readme(path: string): string {
  return readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')
}

/** The auth codes a service that takes keys but manages none can answer. */
const { UNAUTHENTICATED, FORBIDDEN, BUSY } = AUTH_CATALOGUE

describe('README error tables list exactly their catalogue', () => {
  it('ingest/README.md: the gateway’s codes and the auth codes it answers', () => {
    expect(Object.fromEntries(errorTable(readme('ingest/README.md')))).toEqual(
      Object.fromEntries(expected([INGEST_CATALOGUE, { UNAUTHENTICATED, FORBIDDEN, BUSY }], true)),
    )
  })

  it('query-api/README.md: the query API’s codes and every auth code (it serves the admin API)', () => {
    expect(Object.fromEntries(errorTable(readme('query-api/README.md')))).toEqual(
      Object.fromEntries(expected([QUERY_API_CATALOGUE, AUTH_CATALOGUE], false)),
    )
  })
})

describe('every catalogue', () => {
  const all = {
    AGENT_CATALOGUE,
    AUTH_CATALOGUE,
    INGEST_CATALOGUE,
    PLATFORM_ERRORS,
    PROCESSOR_CATALOGUE,
    PROMQL_CATALOGUE,
    QUERY_API_CATALOGUE,
    SCHEMA_CATALOGUE,
    SPOOL_CATALOGUE,
    STORAGE_CATALOGUE,
  }
  it.each(Object.entries(all))(
    '%s: each code has a meaning and, if any, an HTTP error status',
    (_name, c) => {
      for (const [code, spec] of Object.entries(c as Record<string, ErrorSpec>)) {
        expect(spec.message.length, code).toBeGreaterThan(10)
        if (spec.status !== undefined) expect(spec.status >= 400 && spec.status < 600, code).toBe(true)
      }
    },
  )
  it('is frozen', () => {
    for (const c of Object.values(all)) expect(Object.isFrozen(c)).toBe(true)
  })
})
