import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/processes_linux.go (the texts have no final period). */
export const PROCESSES: MetricCatalogue = {
  collector: 'processes',
  minDefaultIntervalMs: 10_000,
  metrics: [
    { name: 'node_processes_threads', help: 'Allocated threads in system', type: 'gauge' },
    { name: 'node_processes_max_threads', help: 'Limit of threads in the system', type: 'gauge' },
    { name: 'node_processes_state', help: 'Number of processes in each state.', type: 'gauge' },
    { name: 'node_processes_threads_state', help: 'Number of threads in each state.', type: 'gauge' },
    { name: 'node_processes_pids', help: 'Number of PIDs', type: 'gauge' },
    { name: 'node_processes_max_processes', help: 'Number of max PIDs limit', type: 'gauge' },
  ],
}
