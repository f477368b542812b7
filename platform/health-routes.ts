import type { FastifyInstance } from 'fastify'
import { errorMessage } from './errors.ts'

/** A dependency the service needs to be useful; `check` rejects when it is not reachable. */
export interface ReadinessCheck {
  name: string
  check: () => Promise<void>
}

const CHECK_TIMEOUT_MS = 2_000

async function runCheck(c: ReadinessCheck): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      c.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`))
        }, CHECK_TIMEOUT_MS)
      }),
    ])
    return { ok: true }
  } catch (err) {
    return { ok: false, error: errorMessage(err) }
  } finally {
    clearTimeout(timer)
  }
}

export function healthRoutes(app: FastifyInstance, checks: readonly ReadinessCheck[]): void {
  app.get('/healthz', () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const results = await Promise.all(checks.map(async (c) => [c.name, await runCheck(c)] as const))
    const ready = results.every(([, r]) => r.ok)
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) })
  })
}
