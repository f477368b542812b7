import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/selinux_linux.go. Modes as go-selinux numbers them: 1 enforcing, 0 permissive, -1 disabled. */
export const SELINUX: MetricCatalogue = {
  collector: 'selinux',
  metrics: [
    { name: 'node_selinux_config_mode', help: 'Configured SELinux enforcement mode', type: 'gauge' },
    { name: 'node_selinux_current_mode', help: 'Current SELinux enforcement mode', type: 'gauge' },
    { name: 'node_selinux_enabled', help: 'SELinux is enabled, 1 is true, 0 is false', type: 'gauge' },
  ],
}
