/**
 * Interval control through the query API, end to end: the suite's real NATS (credentials required),
 * real agent control subscribers (agent/src/control.ts over real schedulers) holding tenant acme's and
 * tenant globex's own NATS users, and the real query API answering API keys. What each key may see and
 * change, what reaches which agent, and, for every refusal, that nothing was published at all; the
 * host view's Sampling section in chromium (screenshot in test-artifacts/control/).
 */
import { execFile } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { NatsConnection } from 'nats'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  listenForControl,
  defaultSchedule,
  FamilyScheduler,
  type Schedule,
} from '#test/support/components/agent.ts'
import { createLogger } from '#platform/logger.ts'
import { ClickHouseSink, addPoint, newRowBatch } from '#test/support/store-rows.ts'
import { microsToDateTime64 } from '#schemas/clickhouse/rows.ts'
import { launchChromium } from '#test/support/browser.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { connectService, connectTenant, type TestNatsTenant } from '#test/support/nats.ts'
import { waitFor } from '#test/support/wait-for.ts'
import type { ControlAnswer } from '../../src/routes/control.ts'
import { buildQueryApi } from '../../src/server.ts'

const REPO = resolve(import.meta.dirname, '../../..')
const ARTIFACTS = join(REPO, 'test-artifacts/control')
const silent = createLogger('it-control-api', { level: 'silent' })

interface TestAgent {
  tenant: TestNatsTenant
  host: string
  agentId: string
  scheduler: FamilyScheduler
  /** Every control request the agent handled, read or change, from its own log lines. */
  handled: string[]
}

let db: EmbeddedClickHouse
let browser: Browser | undefined
let nc: NatsConnection
const agentConnections: NatsConnection[] = []
const agents: Record<'web1' | 'web1b' | 'db1' | 'globexWeb1', TestAgent> = {} as never
let app: FastifyInstance
let noNatsApp: FastifyInstance
let url = ''
let noNatsUrl = ''
const key = { acmeAdmin: '', acmeRead: '', globexAdmin: '', operator: '', acmeIngest: '', acmeDashboard: '' }

async function startAgent(
  tenant: TestNatsTenant,
  host: string,
  agentId: string,
  groups: string[],
): Promise<TestAgent> {
  const conn = await connectTenant(tenant, `it-control-api-${agentId}`)
  agentConnections.push(conn)
  const agent: TestAgent = {
    tenant,
    host,
    agentId,
    scheduler: new FamilyScheduler(defaultSchedule(1000), () => undefined),
    handled: [],
  }
  const logger = createLogger(agentId, {
    level: 'debug',
    destination: {
      write: (line: string) => {
        agent.handled.push((JSON.parse(line) as { msg: string }).msg)
      },
    },
  })
  listenForControl({ nc: conn, tenant, hostId: host, agentId, groups, scheduler: agent.scheduler, logger })
  await conn.flush()
  return agent
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  return `http://127.0.0.1:${String(typeof address === 'object' && address ? address.port : 0)}`
}

beforeAll(async () => {
  // First, so a missing chromium fails the file at once with its own message.
  browser = await launchChromium()
  db = await openEmbeddedClickHouse('control')
  // One stored second of acme's web-1, so the dashboard lists the host.
  const batch = newRowBatch()
  const tsUs = Date.now() * 1000
  addPoint(batch, { tenant: 'acme', metric: 'node_load1', host: 'web-1', labels: '{}', tsUs, value: 1 })
  batch.log.push([
    'acme',
    'web-1',
    'web-1.acme',
    'agent-web-1',
    0,
    'load',
    microsToDateTime64(tsUs),
    1,
    0,
    '0',
    'samples',
  ])
  await new ClickHouseSink(db.clickhouse, 'control').write(batch, 'control-browser')
  nc = await connectService('it-control-api')
  agents.web1 = await startAgent('acme', 'web-1', 'agent-web-1', ['web'])
  // A second agent with the same host id (a re-imaged machine, a container): both must answer.
  agents.web1b = await startAgent('acme', 'web-1', 'agent-web-1b', ['web'])
  agents.db1 = await startAgent('acme', 'db-1', 'agent-db-1', ['db'])
  // Tenant globex has a host and a group of the very same names.
  agents.globexWeb1 = await startAgent('globex', 'web-1', 'agent-globex-web-1', ['web'])
  const { auth, keys } = await memoryKeys([
    { tenant: 'acme', scopes: ['admin'] },
    { tenant: 'acme', scopes: ['read'] },
    { tenant: 'globex', scopes: ['admin'] },
    { tenant: 'ops', scopes: ['operator'] },
    { tenant: 'acme', scopes: ['ingest'] },
    { tenant: 'acme', scopes: ['read', 'admin'] },
  ])
  ;[key.acmeAdmin, key.acmeRead, key.globexAdmin, key.operator, key.acmeIngest, key.acmeDashboard] = keys as [
    string,
    string,
    string,
    string,
    string,
    string,
  ]
  const deps = {
    clickhouse: db.clickhouse,
    database: 'control',
    keys: auth,
    readiness: [],
    logger: silent,
    maxPoints: 1000,
  }
  app = await buildQueryApi({
    ...deps,
    live: { nats: nc, maxBufferedBytes: 64 * 1024, maxStreamsPerTenant: 3 },
  })
  url = await listen(app)
  noNatsApp = await buildQueryApi(deps)
  noNatsUrl = await listen(noNatsApp)
})

afterAll(async () => {
  await browser?.close()
  await app.close()
  await noNatsApp.close()
  for (const a of Object.values(agents)) a.scheduler.stop()
  for (const c of agentConnections) await c.drain()
  await nc.drain()
  await db.close()
})

async function call(
  apiKey: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  base = url,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${apiKey}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

const set = (apiKey: string, body: unknown): ReturnType<typeof call> =>
  call(apiKey, 'POST', '/api/v1/control', body)

/**
 * Every control subject published on while `fn` ran, as the service user sees them. A marker sent on
 * the same connection after it comes back last (NATS keeps one connection's order), so nothing
 * published by `fn` can arrive after the check. Subscribed only meanwhile: a subscription on every
 * control subject would answer every request's "is anyone listening" (no-responders) with yes.
 */
async function publishedDuring(fn: () => Promise<void>): Promise<string[]> {
  const published: string[] = []
  const spy = nc.subscribe('procstream.control.>', {
    callback: (_err, msg) => published.push(msg.subject),
  })
  await nc.flush()
  await fn()
  const marker = `procstream.control.marker.${String(Date.now())}`
  nc.publish(marker)
  await waitFor('the marker to come back', () => Promise.resolve(published.includes(marker) || undefined))
  spy.unsubscribe()
  return published.filter((s) => s !== marker)
}

function snapshot(): Record<string, Schedule> {
  return Object.fromEntries(Object.entries(agents).map(([k, a]) => [k, a.scheduler.current()]))
}

describe('interval control through the query API', () => {
  it('an admin key sets a host’s interval: every agent of that host applies it and replies', async () => {
    const before = snapshot()
    const { status, json } = await set(key.acmeAdmin, {
      target: { host: 'web-1' },
      families: { cpu: { interval_ms: 100 }, filesystem: { enabled: false } },
    })
    expect(status).toBe(200)
    const answer = json as unknown as ControlAnswer
    expect(answer.tenant).toBe('acme')
    expect(answer.replies.map((r) => r.agent_id)).toEqual(['agent-web-1', 'agent-web-1b'])
    for (const r of answer.replies) {
      expect(r.host_id).toBe('web-1')
      expect(r.applied?.cpu).toEqual({ enabled: true, interval_ms: 100 })
      expect(r.applied?.filesystem).toEqual({ enabled: false, interval_ms: 10_000 })
    }
    expect(agents.web1.scheduler.current().cpu).toEqual({ enabled: true, intervalMs: 100 })
    expect(agents.web1b.scheduler.current().filesystem?.enabled).toBe(false)
    // The other host of the tenant and the other tenant's host of the same name are untouched.
    expect(agents.db1.scheduler.current()).toEqual(before.db1)
    expect(agents.globexWeb1.scheduler.current()).toEqual(before.globexWeb1)
    expect(agents.globexWeb1.handled).toEqual([])
  })

  it('a read key shows the schedule in force, which changes nothing', async () => {
    const before = snapshot()
    const { status, json } = await call(key.acmeRead, 'GET', '/api/v1/control/schedule?host=web-1')
    expect(status).toBe(200)
    const answer = json as unknown as ControlAnswer
    expect(answer.replies).toHaveLength(2)
    expect(answer.replies[0]?.applied?.cpu).toEqual({ enabled: true, interval_ms: 100 })
    expect(answer.waited_ms).toBeLessThan(2000)
    expect(snapshot()).toEqual(before)
    expect(agents.web1.handled.at(-1)).toBe('control schedule read')
  })

  it('a group and the whole tenant reach exactly their agents, never another tenant’s', async () => {
    const db = await set(key.acmeAdmin, { target: { group: 'db' }, interval_ms: 500, wait_ms: 800 })
    expect(db.status).toBe(200)
    expect((db.json as unknown as ControlAnswer).replies.map((r) => r.agent_id)).toEqual(['agent-db-1'])
    expect(agents.db1.scheduler.current().memory?.intervalMs).toBe(500)
    expect(agents.web1.scheduler.current().memory?.intervalMs).toBe(1000)

    const all = await set(key.acmeAdmin, {
      target: { all: true },
      families: { memory: { interval_ms: 2000 } },
    })
    expect(all.status).toBe(200)
    expect((all.json as unknown as ControlAnswer).replies.map((r) => r.agent_id)).toEqual([
      'agent-db-1',
      'agent-web-1',
      'agent-web-1b',
    ])
    for (const a of [agents.web1, agents.web1b, agents.db1])
      expect(a.scheduler.current().memory?.intervalMs).toBe(2000)
    expect(agents.globexWeb1.scheduler.current()).toEqual(defaultSchedule(1000))
    expect(agents.globexWeb1.handled).toEqual([])
  })

  it('a tenant admin key cannot reach another tenant: 403, the same for an unknown tenant, nothing sent', async () => {
    const before = agents.globexWeb1.scheduler.current()
    const answers: { status: number; json: Record<string, unknown> }[] = []
    const subjects = await publishedDuring(async () => {
      answers.push(await set(key.acmeAdmin, { tenant: 'globex', target: { all: true }, interval_ms: 50 }))
      answers.push(await set(key.acmeAdmin, { tenant: 'nosuch', target: { all: true }, interval_ms: 50 }))
      answers.push(await call(key.acmeRead, 'GET', '/api/v1/control/schedule?host=web-1&tenant=globex'))
    })
    expect(answers.map((a) => a.status)).toEqual([403, 403, 403])
    expect(answers[0]?.json).toEqual(answers[1]?.json)
    expect(answers[0]?.json.error).toBe("a tenant key controls its own tenant's agents only")
    expect(subjects).toEqual([])
    expect(agents.globexWeb1.scheduler.current()).toEqual(before)
    expect(agents.globexWeb1.handled).toEqual([])
    // Its own admin reaches it, on its own tenant's subject only.
    const own = await set(key.globexAdmin, { target: { host: 'web-1' }, interval_ms: 250 })
    expect((own.json as unknown as ControlAnswer).replies.map((r) => r.agent_id)).toEqual([
      'agent-globex-web-1',
    ])
    expect(agents.web1.scheduler.current().memory?.intervalMs).toBe(2000)
  })

  it('a read or ingest key may not change the schedule: 403 and nothing sent', async () => {
    const before = snapshot()
    const answers: number[] = []
    const subjects = await publishedDuring(async () => {
      answers.push((await set(key.acmeRead, { target: { host: 'web-1' }, interval_ms: 50 })).status)
      answers.push((await set(key.acmeIngest, { target: { host: 'web-1' }, interval_ms: 50 })).status)
      answers.push((await call(key.acmeIngest, 'GET', '/api/v1/control/schedule?host=web-1')).status)
    })
    expect(answers).toEqual([403, 403, 403])
    expect(subjects).toEqual([])
    expect(snapshot()).toEqual(before)
  })

  it('refuses bad input with 400 naming the problem, before anything is sent', async () => {
    const before = snapshot()
    const answers: { status: number; json: Record<string, unknown> }[] = []
    const subjects = await publishedDuring(async () => {
      answers.push(await set(key.acmeAdmin, { target: { host: 'web-1' }, interval_ms: 5 }))
      answers.push(await set(key.acmeAdmin, { target: { host: 'web-1' }, families: { gpu: {} } }))
      answers.push(await set(key.acmeAdmin, { target: { host: 'web 1' }, interval_ms: 100 }))
      answers.push(await set(key.acmeAdmin, { target: { host: 'web-1' } }))
      answers.push(await set(key.acmeAdmin, { target: { host: 'web-1', all: true }, interval_ms: 100 }))
      answers.push(await call(key.acmeRead, 'GET', '/api/v1/control/schedule?host=a%20b'))
    })
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400, 400, 400])
    expect(answers.map((a) => a.json.error)).toEqual([
      'interval_ms must be a whole number of milliseconds from 10 to 300000',
      expect.stringMatching(/^unknown family "gpu"; known: cpu/),
      'host "web 1" must be printable ASCII without spaces or commas',
      expect.stringMatching(/^give interval_ms or families/),
      'target must name exactly one of host, group or all',
      'host "a b" must be printable ASCII without spaces or commas',
    ])
    expect(subjects).toEqual([])
    expect(snapshot()).toEqual(before)
  })

  it('answers 504 naming the host when no agent answers, and 503 without NATS', async () => {
    const none = await call(key.acmeRead, 'GET', '/api/v1/control/schedule?host=ghost&wait_ms=300')
    expect(none.status).toBe(504)
    expect(none.json).toEqual({ error: 'no agent of host "ghost" answered within 0.3 s', code: 'NO_AGENT' })
    const noNats = await call(
      key.acmeRead,
      'GET',
      '/api/v1/control/schedule?host=web-1',
      undefined,
      noNatsUrl,
    )
    expect(noNats.status).toBe(503)
    expect(noNats.json.error).toBe('agent control needs NATS, which this installation does not run')
  })

  it('sends again while nobody listens, so an agent between two gateway polls still gets it', async () => {
    const pending = call(key.acmeRead, 'GET', '/api/v1/control/schedule?host=late-1&wait_ms=3000')
    await new Promise((r) => setTimeout(r, 400))
    const late = await startAgent('acme', 'late-1', 'agent-late-1', [])
    const { status, json } = await pending
    expect(status).toBe(200)
    expect((json as unknown as ControlAnswer).replies.map((r) => r.agent_id)).toEqual(['agent-late-1'])
    // Read once: the retries before it subscribed reached nobody.
    expect(late.handled).toEqual(['control schedule read'])
  })

  it('an operator key acts on the tenant it names, and must name one', async () => {
    const unnamed = await set(key.operator, { target: { group: 'db' }, interval_ms: 100 })
    expect(unnamed.status).toBe(400)
    expect(unnamed.json.error).toBe('an operator key acts on the tenant it names: give tenant')
    const named = await call(key.operator, 'GET', '/api/v1/control/schedule?group=db&tenant=acme&wait_ms=800')
    expect(named.status).toBe(200)
    expect((named.json as unknown as ControlAnswer).replies.map((r) => r.agent_id)).toEqual(['agent-db-1'])
  })
})

describe('npm run admin -- interval', () => {
  function cli(args: string[], apiKey: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((done) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', resolve(REPO, 'admin/cli.ts'), ...args],
        { cwd: REPO, env: { ...process.env, PROCSTREAM_URL: url, PROCSTREAM_ADMIN_KEY: apiKey } },
        (err, stdout, stderr) => {
          done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
        },
      )
    })
  }
  const row = (out: string, agent: string, family: string): string[] | undefined =>
    out
      .split('\n')
      .map((l) => l.split(/\s+/))
      .find((cols) => cols[1] === agent && cols[2] === family)

  it('sets and shows a host’s schedule as a table, and fails with the error on stderr', async () => {
    const setRun = await cli(
      ['interval', 'set', '--host', 'db-1', '--family', 'cpu=300', '--disable', 'netstat'],
      key.acmeAdmin,
    )
    expect(setRun.stderr).toBe('')
    expect(setRun.code).toBe(0)
    expect(setRun.stdout.split('\n')[0]).toMatch(/^HOST\s+AGENT\s+FAMILY\s+INTERVAL MS\s+ENABLED$/)
    expect(row(setRun.stdout, 'agent-db-1', 'cpu')).toEqual(['db-1', 'agent-db-1', 'cpu', '300', 'yes'])
    expect(agents.db1.scheduler.current().netstat?.enabled).toBe(false)

    const show = await cli(['interval', 'show', '--host', 'db-1'], key.acmeRead)
    expect(show.code).toBe(0)
    expect(row(show.stdout, 'agent-db-1', 'netstat')?.[4]).toBe('no')

    const ghost = await cli(['interval', 'show', '--host', 'ghost', '--wait-ms', '200'], key.acmeRead)
    expect(ghost.code).toBe(1)
    expect(ghost.stdout).toBe('')
    expect(ghost.stderr).toBe('error 504 NO_AGENT: no agent of host "ghost" answered within 0.2 s\n')
  })
})

describe('the host view’s Sampling section in chromium', () => {
  it('shows the schedule in force on the host’s agents and applies a change from its form', async () => {
    if (!browser) throw new Error('no chromium')
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (err) => pageErrors.push(err.message))
    await page.goto(`${url}/#key=${key.acmeDashboard}`)
    await page.waitForSelector('#fleet:not([hidden])')
    await page.evaluate("location.hash = '#host=web-1'")
    const cpuCells = (): Promise<string[]> =>
      page.evaluate<string[]>(
        `[...document.querySelectorAll('#host-sampling tr[data-family="cpu"] td:last-child')].map((c) => c.textContent)`,
      )
    await expect.poll(() => cpuCells(), { timeout: 15_000 }).toEqual([expect.any(String), expect.any(String)])
    const before = agents.web1.scheduler.current().cpu?.intervalMs ?? 0
    expect(await cpuCells()).toEqual(
      Array(2).fill(before % 1000 === 0 ? `${String(before / 1000)} s` : `${String(before)} ms`),
    )
    // The key holds admin: the form is offered. cpu at 200 ms for this host.
    await page.selectOption('#host-sampling select[name="family"]', 'cpu')
    await page.fill('#host-sampling input[name="interval_ms"]', '200')
    await page.click('#host-sampling button[type="submit"]')
    await expect
      .poll(() => page.textContent('#host-sampling .sampling-result'), { timeout: 10_000 })
      .toBe('applied by 2 of 2 agent(s)')
    await expect.poll(() => cpuCells(), { timeout: 10_000 }).toEqual(['200 ms', '200 ms'])
    expect(agents.web1.scheduler.current().cpu?.intervalMs).toBe(200)
    expect(agents.db1.scheduler.current().cpu?.intervalMs).not.toBe(200)
    expect(pageErrors).toEqual([])
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.locator('#host-sampling').screenshot({ path: join(ARTIFACTS, 'sampling.png') })
  })
})
