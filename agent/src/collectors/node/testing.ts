/**
 * Test support for the node collectors' specs: a temporary host tree and one collection of one
 * collector over it, with each point formatted as the specs compare it.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach } from 'vitest'
import type { MetricPoint } from '#schemas/src/metric-model.ts'
import { NodeCollectors } from '../../node-collectors.ts'
import { NodeFileReader, type CollectorPaths, type NodeCollector } from './collector.ts'

const trees: string[] = []

afterEach(() => {
  for (const root of trees.splice(0)) rmSync(root, { recursive: true, force: true })
})

export interface TreeExtras {
  /** Path → link target, as stored. */
  readonly links?: Readonly<Record<string, string>>
  /** Empty directories to create. */
  readonly dirs?: readonly string[]
}

/** Writes `files` (path relative to `root` → content), creating their directories. */
export function writeTree(
  root: string,
  files: Readonly<Record<string, string | Buffer>>,
  extras: TreeExtras = {},
): void {
  for (const dir of extras.dirs ?? []) mkdirSync(join(root, dir), { recursive: true })
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  for (const [path, target] of Object.entries(extras.links ?? {})) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    symlinkSync(target, join(root, path))
  }
}

/** A temporary directory holding `files` (and links, empty directories), removed after the test. */
export function tempTree(
  files: Readonly<Record<string, string | Buffer>> = {},
  extras: TreeExtras = {},
): string {
  const root = mkdtempSync(join(tmpdir(), 'procstream-node-test-'))
  trees.push(root)
  writeTree(root, files, extras)
  return root
}

/** The collector paths of a tree: `<root>/proc`, `<root>/sys`, `<root>` and `<root>/udev`. */
export function treePaths(root: string, paths: Partial<CollectorPaths> = {}): CollectorPaths {
  return {
    procfs: join(root, 'proc'),
    sysfs: join(root, 'sys'),
    rootfs: root,
    udevData: join(root, 'udev'),
    ...paths,
  }
}

/** Every path of `files` put under `dir`. */
export function under<T>(dir: string, files: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(files).map(([path, v]) => [join(dir, path), v]))
}

export interface CollectOptions {
  /** The collector's options, without its name; the undeclared ones take their defaults. */
  readonly options?: Readonly<Record<string, string>>
  /** `kv`: `name{k=v,…} value`; `bare`: the same without `{}` when there are no labels; `json`: `name{"k":"v",…} value`. */
  readonly format?: Format
  /** Sort the series strings. */
  readonly sort?: boolean
  /**
   * `open`: the collector's reader itself (a throw fails the test); `agent`: through NodeCollectors,
   * which groups the points by name and reports a throw as a problem.
   */
  readonly via?: 'open' | 'agent'
}

export interface Collected {
  /** Each point formatted, undefined when the collector found its input absent (or failed, via the agent). */
  readonly series: string[] | undefined
  readonly points: MetricPoint[]
  readonly problems: string[]
  readonly result: 'absent' | undefined
}

export type Format = 'kv' | 'bare' | 'json'

export function formatPoint(point: MetricPoint, format: Format = 'kv'): string {
  const entries = Object.entries(point.labels)
  const labels =
    format === 'json'
      ? JSON.stringify(point.labels)
      : format === 'bare' && entries.length === 0
        ? ''
        : `{${entries.map(([k, v]) => `${k}=${v}`).join(',')}}`
  return `${point.name}${labels} ${String(point.value)}`
}

/** One collection of `collector` over `paths` (or a tree's root). */
export function collectOnce(
  collector: NodeCollector,
  paths: CollectorPaths | string,
  o: CollectOptions = {},
): Collected {
  const where = typeof paths === 'string' ? treePaths(paths) : paths
  const problems: string[] = []
  const points: MetricPoint[] = []
  let result: 'absent' | undefined
  if (o.via === 'agent') {
    const options = Object.fromEntries(
      Object.entries(o.options ?? {}).map(([k, v]) => [`${collector.name}.${k}`, v]),
    )
    const collectors = new NodeCollectors({
      paths: where,
      options,
      onProblem: (_c, p) => problems.push(p),
      collectors: [collector],
    })
    const sample = collectors.collect(collector.name)
    collectors.close()
    if (sample === undefined) result = 'absent'
    for (const family of sample?.metrics ?? [])
      for (const s of family.series) points.push({ name: family.name, labels: s.labels, value: s.value })
  } else {
    const defaults = Object.fromEntries(
      Object.entries(collector.options ?? {}).map(([k, d]) => [k, d.default]),
    )
    const fs = new NodeFileReader()
    try {
      const reader = collector.open({
        paths: where,
        options: { ...defaults, ...o.options },
        problem: (p) => problems.push(p),
        fs,
      })
      result = reader.collect((name, labels, value) => points.push({ name, labels, value }))
      reader.close?.()
    } finally {
      fs.close()
    }
  }
  const series = points.map((p) => formatPoint(p, o.format))
  if (o.sort) series.sort()
  return { series: result === 'absent' ? undefined : series, points, problems, result }
}

/** The formatted series and the problems of one collection, as most specs compare them whole. */
export interface Series {
  readonly series: string[] | undefined
  readonly problems: string[]
}

export function collectSeries(
  collector: NodeCollector,
  paths: CollectorPaths | string,
  o: CollectOptions = {},
): Series {
  const { series, problems } = collectOnce(collector, paths, o)
  return { series, problems }
}
