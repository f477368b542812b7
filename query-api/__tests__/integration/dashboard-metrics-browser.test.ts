/**
 * The host view's "what exists" parts in real headless chromium against the real query API and
 * embedded ClickHouse: the header's facts from node_uname_info, node_os_info, node_cpu_info and
 * node_dmi_info (the newest label set after a kernel change), and "Everything this host sends": every
 * metric family of the host grouped by collector prefix, collapsed, each opening to a chart of its
 * stored values (rates for counters), label values shown as text. A second host sends no info metric
 * and gets no header and no error. Screenshots go to test-artifacts/dashboard/.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { ClickHouseSink, addPoint, newRowBatch } from '#test/support/store-rows.ts'
import { canonicalLabels, microsToDateTime64 } from '#schemas/clickhouse/rows.ts'
import { canvasInk, launchChromium } from '#test/support/browser.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { buildQueryApi } from '../../src/server.ts'

const DB = 'browser_metrics'
const ARTIFACTS = join(import.meta.dirname, '../../../test-artifacts/dashboard')
const TENANT = 'acme'
const HISTORY_S = 20 * 60
const STEP_S = 5
/** Info metrics come every minute, as the agent's slow collectors send them. */
const INFO_EVERY_S = 60
/** The kernel the host ran until ten minutes ago; its uname series must not reach the header. */
const KERNEL_CHANGE_AGO_S = 10 * 60
const XSS = '<img src=x onerror=alert(1)>'
const CPU_MODEL = 'Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz'

type Labels = Record<string, string>

interface HostSpec {
  host: string
  hostname: string
  /** Every row of one second. */
  rows: (sec: number, now: number, emit: (metric: string, labels: Labels, value: number) => void) => void
}

const FULL: HostSpec = {
  host: 'node-a',
  hostname: 'node-a.acme.internal',
  rows: (sec, now, emit) => {
    const t = sec - (now - HISTORY_S)
    if (sec % INFO_EVERY_S === 0) {
      const release = sec < now - KERNEL_CHANGE_AGO_S ? '6.1.0-17-amd64' : '6.1.0-18-amd64'
      emit(
        'node_uname_info',
        {
          sysname: 'Linux',
          release,
          version: '#1 SMP PREEMPT_DYNAMIC Debian',
          machine: 'x86_64',
          nodename: 'node-a',
          domainname: '(none)',
        },
        1,
      )
      emit(
        'node_os_info',
        {
          id: 'debian',
          name: 'Debian GNU/Linux',
          pretty_name: 'Debian GNU/Linux 12 (bookworm)',
          version: '12 (bookworm)',
          version_codename: 'bookworm',
          version_id: '12',
        },
        1,
      )
      for (const cpu of ['0', '1', '2', '3']) {
        emit(
          'node_cpu_info',
          {
            cpu,
            core: String(Number(cpu) % 2),
            package: '0',
            vendor: 'GenuineIntel',
            family: '6',
            model: '85',
            model_name: CPU_MODEL,
            microcode: '0x2006906',
            stepping: '4',
            cachesize: '22528 KB',
          },
          1,
        )
      }
      emit(
        'node_dmi_info',
        {
          bios_vendor: 'Dell Inc.',
          bios_version: '2.19.1',
          product_name: 'PowerEdge R640',
          system_vendor: 'Dell Inc.',
          board_vendor: 'Dell Inc.',
        },
        1,
      )
    }
    emit('node_load1', {}, 1.5)
    emit('node_load5', {}, 1.2)
    emit('node_load15', {}, 1.1)
    emit('node_netstat_Tcp_CurrEstab', {}, 42)
    // Untyped in node_exporter, though it only grows: raw by default, a rate when asked.
    emit('node_netstat_Tcp_InSegs', {}, 1000 + 10 * t)
    emit('node_hwmon_temp_celsius', { chip: 'platform_coretemp_0', sensor: 'temp1' }, 48.5)
    // A label value that is markup: it must show as text and create no element.
    emit('node_hwmon_temp_celsius', { chip: XSS, sensor: 'temp2' }, 51)
    emit('node_filefd_allocated', {}, 1536)
    emit('node_filefd_maximum', {}, 1048576)
    for (const cpu of ['0', '1']) emit('node_schedstat_running_seconds_total', { cpu }, 100 + 0.25 * t)
  },
}

/** Sends no info metric at all. */
const BARE: HostSpec = {
  host: 'bare-1',
  hostname: 'bare-1.acme.internal',
  rows: (_sec, _now, emit) => {
    emit('node_load1', {}, 0.5)
    emit('node_filefd_allocated', {}, 800)
  },
}

let db: EmbeddedClickHouse
let app: FastifyInstance
let browser: Browser | undefined
let page: Page
let url = ''
let key = ''
const pageErrors: string[] = []
const dialogs: string[] = []

async function store(sink: ClickHouseSink): Promise<void> {
  const now = Math.floor(Date.now() / 1000)
  const first = Math.ceil((now - HISTORY_S) / STEP_S) * STEP_S
  for (const spec of [FULL, BARE]) {
    const batch = newRowBatch()
    let seq = 0
    for (let sec = first; sec <= now; sec += STEP_S) {
      const tsUs = sec * 1_000_000 + 3_000
      spec.rows(sec, now, (metric, labels, value) => {
        addPoint(batch, {
          tenant: TENANT,
          metric,
          host: spec.host,
          labels: canonicalLabels(labels),
          tsUs,
          value,
        })
      })
      batch.log.push([
        TENANT,
        spec.host,
        spec.hostname,
        `agent-${spec.host}`,
        seq++,
        'cpu',
        microsToDateTime64(tsUs),
        1,
        0,
        String(sec),
        'samples',
      ])
    }
    await sink.write(batch, `metrics-browser-${spec.host}`)
  }
}

beforeAll(async () => {
  browser = await launchChromium()
  mkdirSync(ARTIFACTS, { recursive: true })
  db = await openEmbeddedClickHouse(DB)
  await store(new ClickHouseSink(db.clickhouse, DB))

  const { auth, keys } = await memoryKeys([{ tenant: TENANT, scopes: ['read'] }])
  key = keys[0] as string
  app = await buildQueryApi({
    clickhouse: db.clickhouse,
    database: DB,
    keys: auth,
    readiness: [],
    logger: createLogger('it-browser-metrics', { level: 'error' }),
    maxPoints: 11_000,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  url = `http://127.0.0.1:${String(typeof address === 'object' && address ? address.port : 0)}`

  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    deviceScaleFactor: 1,
    colorScheme: 'light',
  })
  page = await context.newPage()
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(`console: ${msg.text()}`)
  })
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
})

afterAll(async () => {
  await browser?.close()
  await app.close()
  await db.close()
})

/** The header's facts: data-fact → the text shown. */
function facts(): Promise<Record<string, string>> {
  return page.evaluate<Record<string, string>>(`Object.fromEntries(
    [...document.querySelectorAll('#host-info .host-fact')].map((f) => [f.dataset.fact, f.querySelector('dd').textContent]))`)
}

/** Groups listed (not filtered away): key → { title, count, open }. */
type Groups = Record<string, { title: string; count: string; open: boolean }>

function groups(): Promise<Groups> {
  return page.evaluate<Groups>(`Object.fromEntries(
    [...document.querySelectorAll('#host-metrics details.metric-group:not([hidden])')].map((g) => [
      g.dataset.group,
      { title: g.querySelector('.group-name').textContent, count: g.querySelector('.group-count').textContent, open: g.open },
    ]))`)
}

const item = (metric: string): string => `#host-metrics details.metric[data-metric="${metric}"]`

/** Names listed in an opened group, with their kind badge. */
function items(group: string): Promise<[string, string][]> {
  return page.evaluate<[string, string][]>(`
    [...document.querySelectorAll('#host-metrics details.metric-group[data-group="${group}"] details.metric')].map((m) => [
      m.querySelector('.metric-name').textContent, m.querySelector('.metric-kind').textContent])`)
}

/** An opened metric's legend: series label → the newest value shown. */
function legend(metric: string): Promise<Record<string, string>> {
  return page.evaluate<Record<string, string>>(`Object.fromEntries(
    [...document.querySelectorAll('${item(metric)} .u-legend .u-series')].map((tr) => [
      tr.querySelector('.u-label')?.textContent ?? '',
      tr.querySelector('.u-value')?.textContent ?? '',
    ]))`)
}

async function ink(metric: string): Promise<number> {
  const [canvas] = await canvasInk(page, `${item(metric)} canvas`)
  return canvas?.coloured ?? 0
}

async function open(selector: string): Promise<void> {
  await page.locator(`${selector} > summary`).first().click()
}

const FULL_GROUPS = [
  'node_cpu',
  'node_dmi',
  'node_filefd',
  'node_hwmon',
  'node_load',
  'node_netstat',
  'node_os',
  'node_schedstat',
  'node_uname',
]

describe('host view: what the host sends', () => {
  it('shows the host’s facts in the header, from its newest info labels', async () => {
    await page.goto(`${url}/#key=${key}&host=node-a`)
    await expect.poll(() => new URL(page.url()).hash).toBe('#host=node-a')
    await expect.poll(facts, { timeout: 20_000 }).toEqual({
      os: 'Debian GNU/Linux 12 (bookworm)',
      // The kernel of the last ten minutes, not the one before.
      kernel: '6.1.0-18-amd64',
      arch: 'x86_64',
      cpu: `4 CPUs · ${CPU_MODEL}`,
      hardware: 'Dell Inc. PowerEdge R640',
      nodename: 'node-a',
    })
    expect(await page.isVisible('#host-info')).toBe(true)
    const header = await page.textContent('#host-info')
    expect(header).not.toContain('6.1.0-17')
  })

  it('lists every family grouped by collector prefix, collapsed, nothing charted yet', async () => {
    await expect.poll(async () => Object.keys(await groups()), { timeout: 20_000 }).toEqual(FULL_GROUPS)
    const listed = await groups()
    expect(listed.node_netstat).toEqual({ title: 'node_netstat_*', count: '2', open: false })
    expect(listed.node_hwmon).toEqual({ title: 'node_hwmon_*', count: '1', open: false })
    expect(listed.node_load).toEqual({ title: 'node_load*', count: '3', open: false })
    expect(listed.node_cpu).toEqual({ title: 'node_cpu_*', count: '1', open: false })
    expect(Object.values(listed).every((g) => !g.open)).toBe(true)
    // A collapsed group has no name elements yet, and nothing is charted before it is opened.
    expect(await page.locator('#host-metrics details.metric').count()).toBe(0)
    expect(await page.locator('#host-metrics canvas').count()).toBe(0)
    expect(await page.textContent('#host-metrics .metrics-summary')).toMatch(/^13 metrics in 9 groups/)
  })

  it('opens a gauge to a chart of its stored values', async () => {
    await open('#host-metrics details.metric-group[data-group="node_netstat"]')
    await expect
      .poll(() => items('node_netstat'))
      .toEqual([
        ['node_netstat_Tcp_CurrEstab', 'untyped'],
        ['node_netstat_Tcp_InSegs', 'untyped'],
      ])
    expect(await page.locator('#host-metrics canvas').count()).toBe(0)
    await open(item('node_netstat_Tcp_CurrEstab'))
    await expect
      .poll(() => legend('node_netstat_Tcp_CurrEstab'), { timeout: 15_000 })
      .toMatchObject({ node_netstat_Tcp_CurrEstab: '42' })
    await expect.poll(() => ink('node_netstat_Tcp_CurrEstab')).toBeGreaterThan(300)
    expect(await page.isChecked(`${item('node_netstat_Tcp_CurrEstab')} .metric-rate`)).toBe(false)
  })

  it('charts counters as rates: `_total` names at once, others when asked', async () => {
    // node_netstat_Tcp_InSegs grows by 10 a second but is untyped: raw first.
    await open(item('node_netstat_Tcp_InSegs'))
    await expect
      .poll(async () => Number((await legend('node_netstat_Tcp_InSegs')).node_netstat_Tcp_InSegs), {
        timeout: 15_000,
      })
      .toBeGreaterThan(1000)
    await page.check(`${item('node_netstat_Tcp_InSegs')} .metric-rate`)
    await expect
      .poll(() => legend('node_netstat_Tcp_InSegs'), { timeout: 15_000 })
      .toMatchObject({ node_netstat_Tcp_InSegs: '10' })

    await open('#host-metrics details.metric-group[data-group="node_schedstat"]')
    await expect
      .poll(() => items('node_schedstat'))
      .toEqual([['node_schedstat_running_seconds_total', 'counter']])
    await open(item('node_schedstat_running_seconds_total'))
    expect(await page.isChecked(`${item('node_schedstat_running_seconds_total')} .metric-rate`)).toBe(true)
    await expect
      .poll(() => legend('node_schedstat_running_seconds_total'), { timeout: 15_000 })
      .toMatchObject({ 'cpu=0': '0.25', 'cpu=1': '0.25' })
    await expect.poll(() => ink('node_schedstat_running_seconds_total')).toBeGreaterThan(300)
  })

  it('shows label values as text, never as markup', async () => {
    await open('#host-metrics details.metric-group[data-group="node_hwmon"]')
    await open(item('node_hwmon_temp_celsius'))
    await expect
      .poll(() => legend('node_hwmon_temp_celsius'), { timeout: 15_000 })
      .toEqual({
        Time: expect.any(String) as string,
        'chip=platform_coretemp_0, sensor=temp1': '48.5',
        [`chip=${XSS}, sensor=temp2`]: '51',
      })
    await expect.poll(() => ink('node_hwmon_temp_celsius')).toBeGreaterThan(300)
    expect(await page.locator('img').count()).toBe(0)
    expect(await page.locator('[onerror]').count()).toBe(0)
    expect(await page.textContent('#host-metrics')).toContain(XSS)
    expect(dialogs).toEqual([])
    await page.screenshot({ path: join(ARTIFACTS, 'host-metrics.png'), fullPage: true })
  })

  it('filters the list by name', async () => {
    await page.fill('#host-metrics .metrics-filter', 'filefd')
    expect(await groups()).toEqual({ node_filefd: { title: 'node_filefd_*', count: '2 of 2', open: false } })
    await page.fill('#host-metrics .metrics-filter', '')
    expect(Object.keys(await groups())).toEqual(FULL_GROUPS)
  })

  it('keeps open charts across a range change and redraws them for it', async () => {
    await page.click('#range label:has-text("1 h")')
    expect(await page.locator(`${item('node_netstat_Tcp_CurrEstab')}[open]`).count()).toBe(1)
    await expect
      .poll(() => legend('node_netstat_Tcp_CurrEstab'), { timeout: 15_000 })
      .toMatchObject({ node_netstat_Tcp_CurrEstab: '42' })
    await expect.poll(() => ink('node_netstat_Tcp_CurrEstab')).toBeGreaterThan(300)
    expect(Object.keys(await groups())).toEqual(FULL_GROUPS)
    expect(await page.textContent('#host-info')).toContain('PowerEdge R640')
  })

  it('shows no header and no error for a host without info metrics', async () => {
    await page.selectOption('#host', 'bare-1')
    await expect.poll(() => new URL(page.url()).hash).toBe('#host=bare-1')
    await expect
      .poll(async () => Object.keys(await groups()), { timeout: 20_000 })
      .toEqual(['node_filefd', 'node_load'])
    expect(await page.isHidden('#host-info')).toBe(true)
    expect(await facts()).toEqual({})
    // The other host's open charts went with its list.
    expect(await page.locator('#host-metrics details.metric').count()).toBe(0)
    await expect.poll(() => page.getAttribute('#status', 'data-kind')).toBe('info')
    expect(await page.isHidden('#host-metrics .panel-error')).toBe(true)
    await open('#host-metrics details.metric-group[data-group="node_filefd"]')
    await open(item('node_filefd_allocated'))
    await expect
      .poll(() => legend('node_filefd_allocated'), { timeout: 15_000 })
      .toMatchObject({ node_filefd_allocated: '800' })
  })

  it('lists 400 families at once, building names and charts only for what is opened', async () => {
    const result = await page.evaluate<{
      ms: number
      groups: number
      names: number
      opened: number
      canvases: number
      requests: number
    }>(`(async () => {
      const { createMetricsSection } = await import('/static/metrics-section.js')
      const names = Array.from({ length: 400 }, (_, i) => 'node_c' + (i % 40) + '_metric_' + i)
      let requests = 0
      const api = {
        metricNames: async () => names,
        metadata: async () => new Map(),
        series: async () => { requests++; return { timestamps: [], series: [] } },
      }
      const box = document.createElement('section')
      document.body.append(box)
      const section = createMetricsSection(box, { api })
      const t0 = performance.now()
      section.show(await section.load({ host: 'h', from: Date.now() - 900000, to: Date.now() }))
      const ms = performance.now() - t0
      const groups = box.querySelectorAll('details.metric-group').length
      const before = box.querySelectorAll('details.metric').length
      box.querySelector('details.metric-group').open = true
      await new Promise((r) => setTimeout(r, 50))
      const opened = box.querySelectorAll('details.metric').length
      const canvases = box.querySelectorAll('canvas').length
      box.remove()
      return { ms, groups, names: before, opened, canvases, requests }
    })()`)
    console.log(`400 families: listed in ${result.ms.toFixed(1)} ms`)
    expect(result).toMatchObject({ groups: 40, names: 0, opened: 10, canvases: 0, requests: 0 })
    expect(result.ms).toBeLessThan(300)
  })

  it('logged no error in the page', () => {
    expect(pageErrors).toEqual([])
    expect(dialogs).toEqual([])
  })
})
