import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/filefd_linux.go. */
export const FILEFD: MetricCatalogue = {
  collector: 'filefd',
  metrics: [
    { name: 'node_filefd_allocated', help: 'File descriptor statistics: allocated.', type: 'gauge' },
    { name: 'node_filefd_maximum', help: 'File descriptor statistics: maximum.', type: 'gauge' },
  ],
}
