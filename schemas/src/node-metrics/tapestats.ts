import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/tapestats_linux.go. */
export const TAPESTATS: MetricCatalogue = {
  collector: 'tapestats',
  metrics: [
    {
      name: 'node_tape_io_now',
      help: 'The number of I/Os currently outstanding to this device.',
      type: 'gauge',
    },
    {
      name: 'node_tape_io_others_total',
      help: 'The number of I/Os issued to the tape drive other than read or write commands. The time taken to complete these commands uses the following calculation io_time_seconds_total-read_time_seconds_total-write_time_seconds_total',
      type: 'counter',
    },
    {
      name: 'node_tape_io_time_seconds_total',
      help: 'The amount of time spent waiting for all I/O to complete (including read and write). This includes tape movement commands such as seeking between file or set marks and implicit tape movement such as when rewind on close tape devices are used.',
      type: 'counter',
    },
    {
      name: 'node_tape_read_bytes_total',
      help: 'The number of bytes read from the tape drive.',
      type: 'counter',
    },
    {
      name: 'node_tape_read_time_seconds_total',
      help: 'The amount of time spent waiting for read requests to complete.',
      type: 'counter',
    },
    {
      name: 'node_tape_reads_completed_total',
      help: 'The number of read requests issued to the tape drive.',
      type: 'counter',
    },
    {
      name: 'node_tape_residual_total',
      help: 'The number of times during a read or write we found the residual amount to be non-zero. This should mean that a program is issuing a read larger thean the block size on tape. For write not all data made it to tape.',
      type: 'counter',
    },
    {
      name: 'node_tape_write_time_seconds_total',
      help: 'The amount of time spent waiting for write requests to complete.',
      type: 'counter',
    },
    {
      name: 'node_tape_writes_completed_total',
      help: 'The number of write requests issued to the tape drive.',
      type: 'counter',
    },
    {
      name: 'node_tape_written_bytes_total',
      help: 'The number of bytes written to the tape drive.',
      type: 'counter',
    },
  ],
}
