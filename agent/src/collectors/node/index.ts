import type { NodeCollector } from './collector.ts'
import { filefd } from './filefd.ts'

/** Every node_exporter collector the agent has beyond the typed families; add one here (one line, kept sorted). */
export const NODE_COLLECTORS: readonly NodeCollector[] = [
  // collectors: one per line, sorted
  filefd,
]
