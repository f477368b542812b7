import type { MetricCatalogue } from './index.ts'

/**
 * node_exporter collector/cpu_linux.go, all but the /proc/stat times (the typed `cpu` family).
 * node_cpu_frequency_hertz is declared here with the /proc/cpuinfo HELP node_exporter prints; its
 * cpufreq collector's sysfs cpuinfo_cur_freq series shares the name (see the cpufreq catalogue).
 */
export const CPU_INFO: MetricCatalogue = {
  collector: 'cpu_info',
  minDefaultIntervalMs: 60_000,
  metrics: [
    { name: 'node_cpu_info', help: 'CPU information from /proc/cpuinfo.', type: 'gauge' },
    { name: 'node_cpu_frequency_hertz', help: 'CPU frequency in hertz from /proc/cpuinfo.', type: 'gauge' },
    {
      name: 'node_cpu_flag_info',
      help: 'The `flags` field of CPU information from /proc/cpuinfo taken from the first core.',
      type: 'gauge',
    },
    {
      name: 'node_cpu_bug_info',
      help: 'The `bugs` field of CPU information from /proc/cpuinfo taken from the first core.',
      type: 'gauge',
    },
    {
      name: 'node_cpu_core_throttles_total',
      help: 'Number of times this CPU core has been throttled.',
      type: 'counter',
    },
    {
      name: 'node_cpu_package_throttles_total',
      help: 'Number of times this CPU package has been throttled.',
      type: 'counter',
    },
    {
      name: 'node_cpu_isolated',
      help: 'Whether each core is isolated, information from /sys/devices/system/cpu/isolated.',
      type: 'gauge',
    },
  ],
}
