/**
 * The dashboard in real headless chromium against the real query API and embedded ClickHouse: 15 min
 * of node_exporter rows at 1 s for two tenants (one host id in both), signed in with a `#key=` link.
 * Checks what a user sees: the fleet ranked, only the key's tenant, each host panel actually drawn
 * (pixels read back from the canvases), live mode following newly stored rows and pause stopping it,
 * and a 5,000-host fleet table keeping only its visible rows in the DOM.
 * Screenshots go to test-artifacts/dashboard/.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { ClickHouseSink, addPoint, newRowBatch, type RowBatch } from '#test/support/store-rows.ts'
import { canonicalLabels, microsToDateTime64 } from '#schemas/clickhouse/rows.ts'
import { canvasInk, launchChromium } from '#test/support/browser.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { buildQueryApi } from '../../src/server.ts'

const DB = 'browser'
const ARTIFACTS = join(import.meta.dirname, '../../../test-artifacts/dashboard')
const HISTORY_S = 15 * 60
const GB = 1e9

interface Profile {
  tenant: string
  host: string
  hostname: string
  /** Share of CPU time not idle, 0–1. */
  busy: number
  /** Share of memory used, 0–1. */
  mem: number
  rx: number
  read: number
  load: number
  /** Share of time some task waited for CPU. */
  psi: number
  phase: number
}

const PROFILES: Profile[] = [
  {
    tenant: 'acme',
    host: 'db-1',
    hostname: 'db-1.acme.internal',
    busy: 0.45,
    mem: 0.81,
    rx: 3e6,
    read: 40e6,
    load: 3.1,
    psi: 0.04,
    phase: 1,
  },
  {
    tenant: 'acme',
    host: 'web-1',
    hostname: 'web-1.acme.internal',
    busy: 0.8,
    mem: 0.52,
    rx: 9e6,
    read: 2e6,
    load: 6.2,
    psi: 0.12,
    phase: 0,
  },
  {
    tenant: 'acme',
    host: 'cache-1',
    hostname: 'cache-1.acme.internal',
    busy: 0.12,
    mem: 0.35,
    rx: 20e6,
    read: 0.2e6,
    load: 0.6,
    psi: 0.01,
    phase: 2,
  },
  // Another tenant: a busier host under the same id, and one more. Neither may reach acme's page.
  {
    tenant: 'globex',
    host: 'web-1',
    hostname: 'web-1.globex.internal',
    busy: 0.97,
    mem: 0.9,
    rx: 50e6,
    read: 90e6,
    load: 12,
    psi: 0.3,
    phase: 3,
  },
  {
    tenant: 'globex',
    host: 'billing-1',
    hostname: 'billing-1.globex.internal',
    busy: 0.6,
    mem: 0.6,
    rx: 1e6,
    read: 1e6,
    load: 2,
    psi: 0.02,
    phase: 4,
  },
]
const ACME_RANKED = ['web-1.acme.internal', 'db-1.acme.internal', 'cache-1.acme.internal']

const CPU_SHARES = {
  user: 0.6,
  system: 0.24,
  iowait: 0.08,
  softirq: 0.04,
  irq: 0.02,
  nice: 0.01,
  steal: 0.01,
}
const FILESYSTEMS = [
  { mountpoint: '/', device: '/dev/nvme0n1p2', fstype: 'ext4', size: 500 * GB, used: 0.42 },
  { mountpoint: '/home', device: '/dev/nvme0n1p3', fstype: 'xfs', size: 1000 * GB, used: 0.67 },
  { mountpoint: '/boot/efi', device: '/dev/nvme0n1p1', fstype: 'vfat', size: 0.5 * GB, used: 0.08 },
  // tmpfs: the panel leaves it out unless "virtual devices" is ticked.
  { mountpoint: '/run', device: 'tmpfs', fstype: 'tmpfs', size: 1.6 * GB, used: 0.01 },
]

/** One simulated host: counters integrate rates that wander around the profile's levels. */
class HostSim {
  private readonly counters = new Map<string, number>()
  private seq = 0

  constructor(readonly p: Profile) {}

  private wave(sec: number, period: number, amplitude: number): number {
    return 1 + amplitude * Math.sin((2 * Math.PI * sec) / period + this.p.phase)
  }

  private counter(key: string, increase: number): number {
    const v = (this.counters.get(key) ?? 1000) + increase
    this.counters.set(key, v)
    return v
  }

  /** Every row of one second, `load1` overriding the load average when given. */
  append(batch: RowBatch, sec: number, load1?: number): void {
    const { p } = this
    const tsUs = sec * 1_000_000 + 3_000
    const row = (metric: string, labels: Record<string, string>, value: number): void => {
      addPoint(batch, {
        tenant: p.tenant,
        metric,
        host: p.host,
        labels: canonicalLabels(labels),
        tsUs,
        value,
      })
    }
    const counter = (metric: string, labels: Record<string, string>, rate: number): void => {
      row(metric, labels, this.counter(`${metric}${canonicalLabels(labels)}`, rate))
    }
    const busy = Math.min(0.98, p.busy * this.wave(sec, 180, 0.12))
    for (const cpu of ['0', '1', '2', '3']) {
      for (const [mode, share] of Object.entries(CPU_SHARES))
        counter('node_cpu_seconds_total', { cpu, mode }, busy * share)
      counter('node_cpu_seconds_total', { cpu, mode: 'idle' }, 1 - busy)
    }
    const total = 16 * 1024 ** 3
    const used = Math.min(0.97, p.mem * this.wave(sec, 400, 0.04))
    const cached = total * 0.12
    const buffers = total * 0.02
    row('node_memory_MemTotal_bytes', {}, total)
    row('node_memory_MemAvailable_bytes', {}, total * (1 - used))
    row('node_memory_MemFree_bytes', {}, Math.max(0, total * (1 - used) - cached - buffers))
    row('node_memory_Buffers_bytes', {}, buffers)
    row('node_memory_Cached_bytes', {}, cached)
    row('node_load1', {}, load1 ?? p.load * this.wave(sec, 120, 0.25))
    row('node_load5', {}, p.load * this.wave(sec, 400, 0.1))
    row('node_load15', {}, p.load * this.wave(sec, 900, 0.05))
    counter('node_network_receive_bytes_total', { device: 'eth0' }, p.rx * this.wave(sec, 90, 0.4))
    counter('node_network_transmit_bytes_total', { device: 'eth0' }, 0.4 * p.rx * this.wave(sec, 70, 0.3))
    counter('node_network_receive_bytes_total', { device: 'lo' }, 50e6)
    counter('node_network_transmit_bytes_total', { device: 'lo' }, 50e6)
    counter('node_disk_read_bytes_total', { device: 'nvme0n1' }, p.read * this.wave(sec, 75, 0.6))
    counter('node_disk_written_bytes_total', { device: 'nvme0n1' }, 0.5 * p.read * this.wave(sec, 110, 0.5))
    for (const fs of FILESYSTEMS) {
      const labels = { device: fs.device, fstype: fs.fstype, mountpoint: fs.mountpoint }
      row('node_filesystem_size_bytes', labels, fs.size)
      row('node_filesystem_avail_bytes', labels, fs.size * (1 - fs.used * this.wave(sec, 1200, 0.02)))
    }
    const psi = p.psi * this.wave(sec, 140, 0.5)
    counter('node_pressure_cpu_waiting_seconds_total', {}, psi)
    counter('node_pressure_memory_waiting_seconds_total', {}, 0.3 * psi)
    counter('node_pressure_memory_stalled_seconds_total', {}, 0.1 * psi)
    counter('node_pressure_io_waiting_seconds_total', {}, 0.6 * psi)
    counter('node_pressure_io_stalled_seconds_total', {}, 0.2 * psi)
    batch.log.push([
      p.tenant,
      p.host,
      p.hostname,
      `agent-${p.host}`,
      this.seq++,
      'cpu',
      microsToDateTime64(tsUs),
      1,
      0,
      String(sec),
      'samples',
    ])
  }
}

let db: EmbeddedClickHouse
let clickhouse: ClickHouseClient
let sink: ClickHouseSink
let app: FastifyInstance
let browser: Browser | undefined
let page: Page
let url = ''
let acmeKey = ''
const sims = PROFILES.map((p) => new HostSim(p))
/** The newest second stored for every host. */
let storedUntil = 0
const pageErrors: string[] = []

/** Stores the seconds after `storedUntil` up to now, for every host. */
async function storeUntilNow(load1For?: { host: string; value: number }): Promise<void> {
  const now = Math.floor(Date.now() / 1000)
  for (const sim of sims) {
    const batch = newRowBatch()
    for (let sec = storedUntil + 1; sec <= now; sec++) {
      const override = sim.p.tenant === 'acme' && sim.p.host === load1For?.host ? load1For.value : undefined
      sim.append(batch, sec, override)
    }
    await sink.write(batch, `browser-${sim.p.tenant}-${sim.p.host}-${String(storedUntil)}`)
  }
  storedUntil = now
}

beforeAll(async () => {
  // First, so a missing chromium fails the file at once with its own message.
  browser = await launchChromium()
  mkdirSync(ARTIFACTS, { recursive: true })
  db = await openEmbeddedClickHouse(DB)
  clickhouse = db.clickhouse
  sink = new ClickHouseSink(clickhouse, DB)
  storedUntil = Math.floor(Date.now() / 1000) - HISTORY_S - 1
  await storeUntilNow()

  const { auth, keys } = await memoryKeys([
    { tenant: 'acme', scopes: ['read'] },
    { tenant: 'globex', scopes: ['read'] },
  ])
  acmeKey = keys[0] as string
  const deps = {
    clickhouse,
    database: DB,
    keys: auth,
    readiness: [],
    logger: createLogger('it-browser', { level: 'error' }),
    maxPoints: 11_000,
  }
  app = await buildQueryApi(deps)
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
})

afterAll(async () => {
  await browser?.close()
  await app.close()
  await db.close()
})

/** Host names of the fleet rows in the DOM, in rank order. */
function fleetNames(): Promise<string[]> {
  return page.evaluate<string[]>(`[...document.querySelectorAll('.fleet-body .fleet-row:not([hidden])')]
    .sort((a, b) => Number(a.getAttribute('aria-rowindex')) - Number(b.getAttribute('aria-rowindex')))
    .map((row) => row.querySelector('.fleet-name').textContent)`)
}

/** A panel's legend: series label → the value shown (the newest one while the cursor is away). */
function legend(panel: string): Promise<Record<string, string>> {
  return page.evaluate<Record<string, string>>(`Object.fromEntries(
    [...document.querySelectorAll('#panel-${panel} .u-legend .u-series')].map((tr) => [
      tr.querySelector('.u-label')?.textContent ?? '',
      tr.querySelector('.u-value')?.textContent ?? '',
    ]))`)
}

const PANELS = ['cpu', 'memory', 'network', 'disk', 'load', 'pressure', 'filesystems']

/** Per panel: series pixels drawn, or why there are none (an overlay message or an error). */
function panelState(): Promise<Record<string, string | number>> {
  return Promise.all(
    PANELS.map(async (id) => {
      const message = await page.evaluate<string>(`(() => {
        const error = document.querySelector('#panel-${id} .panel-error')
        if (error && !error.hidden) return 'error: ' + error.textContent
        const overlay = document.querySelector('#panel-${id} .chart-empty')
        return overlay && !overlay.hidden ? 'overlay: ' + overlay.textContent : ''
      })()`)
      const [ink] = await canvasInk(page, `#panel-${id} canvas`)
      return [id, message || (ink?.coloured ?? 'no canvas')] as const
    }),
  ).then((entries) => Object.fromEntries(entries))
}

describe('dashboard in chromium', () => {
  it('signs in from a #key= link and ranks exactly the tenant’s hosts by CPU', async () => {
    const started = Date.now()
    await page.goto(`${url}/#key=${acmeKey}`)
    await expect.poll(fleetNames, { timeout: 20_000 }).toEqual(ACME_RANKED)
    // The key left the address bar; the fleet is the default view.
    expect(new URL(page.url()).hash).toBe('#fleet')
    expect(await page.textContent('#tenant')).toBe('tenant acme')
    const text = await page.evaluate<string>('document.body.innerText')
    expect(text).not.toMatch(/globex|billing/)
    // acme's web-1 at ~80 % busy, not globex's web-1 at ~97 %.
    const cpu = await page.evaluate<string>(
      `document.querySelector('.fleet-body .fleet-row[aria-rowindex="2"] .fleet-metric .fleet-value').textContent`,
    )
    expect(Number.parseFloat(cpu)).toBeGreaterThan(65)
    expect(Number.parseFloat(cpu)).toBeLessThan(92)
    expect(await page.textContent('.fleet-count')).toBe('3 hosts')
    // Every sparkline of every row drew its line.
    await expect
      .poll(async () =>
        (await canvasInk(page, '.fleet-body .fleet-row:not([hidden]) canvas.spark')).map((i) => i.coloured),
      )
      .toSatisfy((counts: number[]) => counts.length === 12 && counts.every((n) => n > 40))
    await page.screenshot({ path: join(ARTIFACTS, 'fleet.png') })
    console.log(`fleet shown ${String(Date.now() - started)} ms after loading the page`)
  })

  it('ranks by another column when its header is clicked', async () => {
    await page.click('.fleet-head button[data-sort="mem"]')
    await expect
      .poll(fleetNames)
      .toEqual(['db-1.acme.internal', 'web-1.acme.internal', 'cache-1.acme.internal'])
    await page.click('.fleet-head button[data-sort="cpu"]')
    await expect.poll(fleetNames).toEqual(ACME_RANKED)
  })

  it('opens a host from its row, with every panel drawn', async () => {
    // A click on the row, not on the name's link.
    await page
      .locator('.fleet-body .fleet-row', { hasText: 'db-1.acme.internal' })
      .locator('.fleet-seen')
      .click()
    await expect.poll(() => new URL(page.url()).hash).toBe('#host=db-1')
    expect(await page.isVisible('#dashboard')).toBe(true)
    expect(await page.isHidden('#fleet')).toBe(true)
    expect(await page.inputValue('#host')).toBe('db-1')
    await expect
      .poll(panelState, { timeout: 20_000 })
      .toSatisfy((state: Record<string, string | number>) =>
        PANELS.every((id) => typeof state[id] === 'number' && state[id] > 300),
      )
    const fs = await legend('filesystems')
    expect(Object.keys(fs).sort()).toEqual(['/', '/boot/efi', '/home', 'Time'])
    expect(Number.parseFloat(fs['/home'] ?? '')).toBeCloseTo(67, -1)
    expect(Object.keys(await legend('pressure'))).toEqual([
      'Time',
      'cpu waiting',
      'memory waiting',
      'memory stalled',
      'io waiting',
      'io stalled',
    ])
    expect(Object.keys(await legend('cpu'))).toContain('iowait')
    // lo carries 50 MB/s but is virtual: hidden until asked for.
    expect(Object.keys(await legend('network'))).toEqual(['Time', 'eth0 rx', 'eth0 tx'])
    await page.screenshot({ path: join(ARTIFACTS, 'host.png'), fullPage: true })
  })

  it('follows newly stored rows in live mode, and holds still while paused', async () => {
    const before = await legend('load')
    expect(before['1 min']).not.toBe('7.77')
    await storeUntilNow({ host: 'db-1', value: 7.77 })
    await expect.poll(async () => (await legend('load'))['1 min'], { timeout: 15_000 }).toBe('7.77')
    const after = await legend('load')
    expect(after.Time).not.toBe(before.Time)
    await page.screenshot({ path: join(ARTIFACTS, 'host-live.png'), fullPage: true })

    await page.click('#live')
    expect(await page.getAttribute('#live', 'aria-pressed')).toBe('false')
    // A refresh that began before the click may still be reading: let it finish before storing.
    await new Promise((r) => setTimeout(r, 1_000))
    await storeUntilNow({ host: 'db-1', value: 3.33 })
    await new Promise((r) => setTimeout(r, 5_000))
    expect((await legend('load'))['1 min']).toBe('7.77')
    expect(await page.textContent('#status')).toMatch(/^Paused/)

    await page.click('#live')
    await expect.poll(async () => (await legend('load'))['1 min'], { timeout: 15_000 }).toBe('3.33')
  })

  it('goes back to the fleet, which keeps listing only the tenant’s hosts', async () => {
    await page.goBack()
    await expect.poll(() => new URL(page.url()).hash).toBe('#fleet')
    await expect.poll(fleetNames).toEqual(ACME_RANKED)
    expect(await page.isHidden('#dashboard')).toBe(true)
  })

  it('keeps only the visible rows of a 5,000-host fleet in the DOM', async () => {
    const result = await page.evaluate<{
      ms: number
      rows: number
      canvases: number
      last: string
    }>(`(async () => {
      const { createFleetTable } = await import('/static/fleet-table.js')
      const box = document.createElement('div')
      box.id = 'big-fleet'
      box.style.cssText = 'position:fixed;inset:0;z-index:10;background:var(--bg);padding:20px'
      const tableRoot = document.createElement('div')
      box.append(tableRoot)
      document.body.append(box)
      // Each host at its own level, wandering a little: the sparkline's last point is the value shown.
      const wave = (level, i, k) =>
        Array.from({ length: 40 }, (_, j) => level * (1 + 0.3 * Math.sin((j + i * 7 + k * 3) / 4)))
      const hosts = Array.from({ length: 5000 }, (_, i) => {
        const spark = {
          cpu: wave(5 + ((i * 37) % 70), i, 0),
          mem: wave(20 + ((i * 53) % 60), i, 1),
          disk: wave(1e5 * (1 + (i % 97)), i, 2),
          net: wave(1e5 * (1 + (i % 89)), i, 3),
        }
        return {
          host_id: 'node-' + i, hostname: 'node-' + String(i).padStart(4, '0') + '.dc1',
          last_seen_ms: Date.now() - (i % 40) * 1000,
          cpu_busy: spark.cpu[39], mem_used: spark.mem[39], disk_bytes_per_s: spark.disk[39], net_bytes_per_s: spark.net[39],
          spark,
        }
      })
      const table = createFleetTable(tableRoot, { hrefFor: (id) => '#host=' + id, onOpen: () => {} })
      const t0 = performance.now()
      table.update({ hosts })
      const ms = performance.now() - t0
      const body = box.querySelector('.fleet-body')
      body.scrollTop = body.scrollHeight
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))
      const visible = [...box.querySelectorAll('.fleet-body .fleet-row:not([hidden])')]
      const last = visible.sort((a, b) => Number(b.getAttribute('aria-rowindex')) - Number(a.getAttribute('aria-rowindex')))[0]
      return {
        ms,
        rows: box.querySelectorAll('.fleet-body .fleet-row').length,
        canvases: box.querySelectorAll('canvas').length,
        last: last.querySelector('.fleet-rank').textContent,
      }
    })()`)
    console.log(
      `5,000-host table: first render ${result.ms.toFixed(1)} ms, ${String(result.rows)} rows in the DOM`,
    )
    expect(result.rows).toBeLessThan(60)
    expect(result.canvases).toBe(result.rows * 4)
    expect(result.last).toBe('5000')
    expect(result.ms).toBeLessThan(500)
    await page.evaluate(`(async () => {
      document.querySelector('#big-fleet .fleet-body').scrollTop = 0
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))
    })()`)
    await page.locator('#big-fleet').screenshot({ path: join(ARTIFACTS, 'fleet-5000.png') })
    await page.evaluate(`document.getElementById('big-fleet').remove()`)
  })

  it('switches host, range and virtual devices from the top bar; signs out and in again', async () => {
    // `#host=` names no host: the most recently seen one opens.
    await page.evaluate(`window.location.hash = 'host='`)
    await expect.poll(() => new URL(page.url()).hash).toMatch(/^#host=(web|db|cache)-1$/)
    await page.selectOption('#host', 'web-1')
    await expect.poll(() => new URL(page.url()).hash).toBe('#host=web-1')
    // web-1 runs user at ~48 % of its CPUs, db-1 at ~27 %.
    await expect
      .poll(async () => Number.parseFloat((await legend('cpu')).user ?? ''), { timeout: 15_000 })
      .toBeGreaterThan(38)

    await page.click('#range label:has-text("1 h")')
    expect(await page.evaluate<string | null>(`localStorage.getItem('procstream.rangeMs')`)).toBe('3600000')
    await expect
      .poll(panelState, { timeout: 20_000 })
      .toSatisfy((state: Record<string, string | number>) =>
        PANELS.every((id) => typeof state[id] === 'number' && state[id] > 300),
      )

    await page.check('#virtual')
    await expect
      .poll(async () => Object.keys(await legend('network')), { timeout: 15_000 })
      .toEqual(['Time', 'eth0 rx', 'eth0 tx', 'lo rx', 'lo tx'])
    await page.uncheck('#virtual')

    await page.click('#signout')
    expect(await page.isVisible('#signin')).toBe(true)
    expect(await page.isHidden('#dashboard')).toBe(true)
    await page.fill('#key', acmeKey)
    await page.click('#signin button[type="submit"]')
    await expect.poll(() => page.textContent('#tenant')).toBe('tenant acme')
    await expect
      .poll(async () => Number.parseFloat((await legend('cpu')).user ?? ''), { timeout: 15_000 })
      .toBeGreaterThan(38)
  })

  it('logged no error in the page', () => {
    expect(pageErrors).toEqual([])
  })
})
