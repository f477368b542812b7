import type { MetricCatalogue } from './index.ts'

/**
 * node_exporter collector/cpufreq_linux.go and cpufreq_common.go. Its node_cpu_frequency_hertz
 * (sysfs cpuinfo_cur_freq) is left to the cpu_info catalogue: one name, one HELP.
 */
export const CPUFREQ: MetricCatalogue = {
  collector: 'cpufreq',
  metrics: [
    { name: 'node_cpu_frequency_min_hertz', help: 'Minimum cpu thread frequency in hertz.', type: 'gauge' },
    { name: 'node_cpu_frequency_max_hertz', help: 'Maximum cpu thread frequency in hertz.', type: 'gauge' },
    {
      name: 'node_cpu_scaling_frequency_hertz',
      help: 'Current scaled CPU thread frequency in hertz.',
      type: 'gauge',
    },
    {
      name: 'node_cpu_scaling_frequency_min_hertz',
      help: 'Minimum scaled CPU thread frequency in hertz.',
      type: 'gauge',
    },
    {
      name: 'node_cpu_scaling_frequency_max_hertz',
      help: 'Maximum scaled CPU thread frequency in hertz.',
      type: 'gauge',
    },
    { name: 'node_cpu_scaling_governor', help: 'Current enabled CPU frequency governor.', type: 'gauge' },
  ],
}
