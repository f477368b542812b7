import { describe, expect, it } from 'vitest'
import { caught } from '#test/support/caught.ts'
import { QueryApiError } from '../errors.ts'
import { ReportJobs, type ReportFile } from './jobs.ts'

const FILE: ReportFile = { body: Buffer.from('x'), contentType: 'text/html', filename: 'r.html' }

function deferred(): {
  promise: Promise<ReportFile>
  resolve: (f: ReportFile) => void
  reject: (e: unknown) => void
} {
  let resolve!: (f: ReportFile) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<ReportFile>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('report jobs', () => {
  it('reports progress, then the file, to the tenant that started the job only', async () => {
    const jobs = new ReportJobs({ maxRunningPerTenant: 2, resultTtlMs: 60_000, describe: () => 'x' })
    const d = deferred()
    let tick: (done: number, total: number, step: string) => void = () => undefined
    const { id } = jobs.start('acme', (progress) => {
      tick = progress
      return d.promise
    })
    tick(3, 10, 'memory')
    expect(jobs.get('acme', id)).toEqual({
      id,
      state: 'running',
      progress: { done: 3, total: 10, step: 'memory' },
    })
    expect(caught(() => jobs.file('acme', id)).code).toBe('REPORT_NOT_READY')
    d.resolve(FILE)
    await settle()
    expect(jobs.get('acme', id).state).toBe('done')
    expect(jobs.file('acme', id)).toBe(FILE)
    // Another tenant: the same answer as for an id that never existed.
    const other = caught(() => jobs.get('globex', id))
    const unknown = caught(() => jobs.get('globex', 'no-such-id'))
    expect([other.code, other.message]).toEqual([unknown.code, unknown.message])
    expect(other.code).toBe('NOT_FOUND')
    expect(caught(() => jobs.file('globex', id)).code).toBe('NOT_FOUND')
  })

  it('caps the jobs one tenant runs at once, not the others', () => {
    const jobs = new ReportJobs({ maxRunningPerTenant: 1, resultTtlMs: 60_000, describe: () => 'x' })
    jobs.start('acme', () => deferred().promise)
    expect(caught(() => jobs.start('acme', () => deferred().promise)).code).toBe('REPORT_BUSY')
    expect(jobs.start('globex', () => deferred().promise).state).toBe('running')
  })

  it('shows a failure only as described, and forgets finished jobs after their time', async () => {
    let now = 1_000
    const jobs = new ReportJobs({
      maxRunningPerTenant: 1,
      resultTtlMs: 5_000,
      describe: (err) => (err instanceof QueryApiError ? err.message : 'internal error'),
      now: () => now,
    })
    const { id } = jobs.start('acme', () => Promise.reject(new Error('secret detail')))
    await settle()
    expect(jobs.get('acme', id)).toMatchObject({ state: 'failed', error: 'internal error' })
    expect(caught(() => jobs.file('acme', id)).code).toBe('REPORT_NOT_READY')
    now += 5_000
    expect(caught(() => jobs.get('acme', id)).code).toBe('NOT_FOUND')
  })
})
