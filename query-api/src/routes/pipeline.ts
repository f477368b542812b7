import type { FastifyInstance } from 'fastify'
import type { Authenticator } from '#platform/auth/authenticator.ts'
import { principalOf } from '../auth.ts'
import { scrapeTarget } from '../pipeline/scrape.ts'
import { nextBaseline, summarize, type Baseline, type PipelineSummary } from '../pipeline/summary.ts'
import type { PipelineTarget } from '../pipeline/targets.ts'

export interface PipelineRouteDeps {
  keys: Authenticator
  targets: readonly PipelineTarget[]
  timeoutMs: number
}

/**
 * GET /api/v1/pipeline: the installation's health for its operator, read from the configured
 * components' /metrics (QUERY_PIPELINE_TARGETS, never a URL from the request), all at once, each
 * within `timeoutMs`. Only `operator` keys: the answer is the whole installation's. The key is
 * checked before anything is fetched, so a refused caller makes no component do any work.
 */
export function pipelineRoutes(app: FastifyInstance, deps: PipelineRouteDeps): void {
  const baselines = new Map<string, Baseline>()
  // Callers asking at once share one round of reads: the page polls, and several operators may.
  let inflight: Promise<PipelineSummary> | undefined

  const readAll = async (): Promise<PipelineSummary> => {
    const scrapes = await Promise.all(deps.targets.map((t) => scrapeTarget(t, deps.timeoutMs)))
    const summary = summarize(scrapes, baselines, Date.now())
    for (const scrape of scrapes) {
      const next = nextBaseline(scrape, baselines.get(scrape.target.name))
      if (next !== undefined) baselines.set(scrape.target.name, next)
    }
    return summary
  }

  app.get('/api/v1/pipeline', async (req, reply) => {
    await principalOf(req, deps.keys, 'operator')
    inflight ??= readAll().finally(() => {
      inflight = undefined
    })
    const summary = await inflight
    return reply.header('cache-control', 'no-store').send(summary)
  })
}
