import pkg from '../package.json' with { type: 'json' }
import type { ExposedPoint, MetricMetadata } from './prometheus-text.ts'

/** The installation's version: every component ships from this one package, so they share it. */
export const VERSION: string = pkg.version

/** Which process a /metrics page comes from, as `procstream_build_info{component}` names it. */
export type Component = 'gateway' | 'processor' | 'agent' | 'query-api' | 'storage'

// Taken when this module is first loaded, which every component does while starting.
const startedAtS = Date.now() / 1000

const METADATA: Record<string, MetricMetadata> = {
  procstream_build_info: {
    type: 'gauge',
    help: 'Always 1; its labels name the component and the version it runs.',
  },
  process_start_time_seconds: {
    type: 'gauge',
    help: 'Start time of the process since unix epoch in seconds.',
  },
  process_cpu_seconds_total: { type: 'counter', help: 'Total user and system CPU time spent in seconds.' },
  process_resident_memory_bytes: { type: 'gauge', help: 'Resident memory size in bytes.' },
}

/**
 * What every component's /metrics carries besides its own counters: which component and version it
 * is (what the pipeline view's health table shows), and the process's start time, CPU and memory
 * under the names Prometheus's client libraries use, so one dashboard query covers every component.
 */
export function processPoints(component: Component): ExposedPoint[] {
  const cpu = process.cpuUsage()
  return [
    { name: 'procstream_build_info', labels: { component, version: VERSION }, value: 1 },
    { name: 'process_start_time_seconds', labels: {}, value: Math.floor(startedAtS) },
    { name: 'process_cpu_seconds_total', labels: {}, value: (cpu.user + cpu.system) / 1e6 },
    { name: 'process_resident_memory_bytes', labels: {}, value: process.memoryUsage.rss() },
  ]
}

/** A component's metadata lookup extended with that of processPoints' series. */
export function withProcessMetadata(
  info: (name: string) => MetricMetadata | undefined,
): (name: string) => MetricMetadata | undefined {
  return (name) => METADATA[name] ?? info(name)
}
