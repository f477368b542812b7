import { randomUUID } from 'node:crypto'
import { QueryApiError } from '../errors.ts'

export interface ReportFile {
  body: Buffer
  contentType: string
  filename: string
}

export interface JobStatus {
  id: string
  state: 'running' | 'done' | 'failed'
  progress: { done: number; total: number; step: string }
  error?: string
}

interface Job {
  id: string
  tenant: string
  state: JobStatus['state']
  progress: JobStatus['progress']
  error: string | undefined
  file: ReportFile | undefined
  /** When a finished job's result goes away. */
  expiresAt: number
}

/** Why a job failed, in words the caller may see; anything else becomes a generic message. */
export type JobRun = (progress: (done: number, total: number, step: string) => void) => Promise<ReportFile>

/**
 * Report jobs of this process, in memory: a report is made where the data is and fetched within
 * minutes, so nothing needs to outlive the process. Every lookup is by tenant and id together: an id
 * of another tenant's job answers exactly as an unknown id does.
 */
export class ReportJobs {
  private readonly jobs = new Map<string, Job>()

  constructor(
    private readonly opts: {
      maxRunningPerTenant: number
      /** How long a finished job's status and file stay, from when it finished. */
      resultTtlMs: number
      /** Finished jobs a tenant may keep at once; the oldest go first. */
      maxKeptPerTenant?: number
      /** Failures whose message is safe to show; other errors are logged and answered generically. */
      describe: (err: unknown) => string
      now?: () => number
    },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)()
  }

  private sweep(): void {
    const now = this.now()
    for (const [id, job] of this.jobs)
      if (job.state !== 'running' && job.expiresAt <= now) this.jobs.delete(id)
  }

  start(tenant: string, run: JobRun): JobStatus {
    this.sweep()
    const mine = [...this.jobs.values()].filter((j) => j.tenant === tenant)
    if (mine.filter((j) => j.state === 'running').length >= this.opts.maxRunningPerTenant)
      throw new QueryApiError(
        'REPORT_BUSY',
        `this tenant is already making ${String(this.opts.maxRunningPerTenant)} reports; retry when one is done`,
      )
    const finished = mine.filter((j) => j.state !== 'running').sort((a, b) => a.expiresAt - b.expiresAt)
    const keep = (this.opts.maxKeptPerTenant ?? 20) - 1
    for (const old of finished.slice(0, Math.max(0, finished.length - keep))) this.jobs.delete(old.id)
    const job: Job = {
      id: randomUUID(),
      tenant,
      state: 'running',
      progress: { done: 0, total: 1, step: 'queued' },
      error: undefined,
      file: undefined,
      expiresAt: Number.POSITIVE_INFINITY,
    }
    this.jobs.set(job.id, job)
    void run((done, total, step) => {
      job.progress = { done, total, step }
    }).then(
      (file) => {
        job.file = file
        job.state = 'done'
        job.progress = { ...job.progress, done: job.progress.total, step: 'done' }
        job.expiresAt = this.now() + this.opts.resultTtlMs
      },
      (err: unknown) => {
        job.error = this.opts.describe(err)
        job.state = 'failed'
        job.expiresAt = this.now() + this.opts.resultTtlMs
      },
    )
    return this.status(job)
  }

  private find(tenant: string, id: string): Job {
    this.sweep()
    const job = this.jobs.get(id)
    if (!job || job.tenant !== tenant) throw new QueryApiError('NOT_FOUND', 'no such report')
    return job
  }

  private status(job: Job): JobStatus {
    return {
      id: job.id,
      state: job.state,
      progress: { ...job.progress },
      ...(job.error !== undefined && { error: job.error }),
    }
  }

  get(tenant: string, id: string): JobStatus {
    return this.status(this.find(tenant, id))
  }

  /** The finished file; a job still running or failed has none (409 tells the caller to wait or look). */
  file(tenant: string, id: string): ReportFile {
    const job = this.find(tenant, id)
    if (job.state === 'running') throw new QueryApiError('REPORT_NOT_READY', 'the report is not ready yet')
    if (!job.file)
      throw new QueryApiError('REPORT_NOT_READY', `the report failed: ${job.error ?? 'unknown error'}`)
    return job.file
  }

  /** Running jobs, for tests and shutdown. */
  get running(): number {
    return [...this.jobs.values()].filter((j) => j.state === 'running').length
  }
}
