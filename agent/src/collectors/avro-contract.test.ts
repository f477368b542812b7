import { describe, expect, it } from 'vitest'
import { EnvelopeCodec } from '#schemas/src/codec.ts'
import type { Envelope, Sample } from '#schemas/src/families.ts'
import { readFixture } from './__fixtures__/fixtures.ts'
import { parseDiskstats } from './diskstats.ts'
import { parseMounts, statFilesystems } from './filesystem.ts'
import { parseLoadavg } from './loadavg.ts'
import { parseMeminfo } from './meminfo.ts'
import { parseNetDev } from './netdev.ts'
import { parsePressure } from './pressure.ts'
import { parseStat } from './stat.ts'
import { parseVmstat } from './vmstat.ts'

// The parsers' records must be exactly the Avro records: encoding checks every field and type,
// and decoding must give back the same fields (avsc drops undeclared ones, so an extra field fails).
describe('parsed records against the Avro schemas', () => {
  const codec = new EnvelopeCodec()
  const envelope = (sample: Sample): Envelope => ({
    tenant: 't',
    host_id: 'h',
    hostname: 'h',
    agent_id: 'a',
    seq: 0,
    ts_us: 1_795_353_462_000_000,
    interval_ms: 1000,
    sample,
  })

  const samples: [string, Sample][] = []
  for (const dir of ['procfs', 'live-t0']) {
    samples.push(
      [`${dir} stat`, { family: 'cpu', data: parseStat(readFixture(`${dir}/proc/stat`)) }],
      [`${dir} meminfo`, { family: 'memory', data: parseMeminfo(readFixture(`${dir}/proc/meminfo`)) }],
      [`${dir} net/dev`, { family: 'network', data: parseNetDev(readFixture(`${dir}/proc/net/dev`)) }],
      [`${dir} diskstats`, { family: 'disk', data: parseDiskstats(readFixture(`${dir}/proc/diskstats`)) }],
      [`${dir} loadavg`, { family: 'load', data: parseLoadavg(readFixture(`${dir}/proc/loadavg`)) }],
      [
        `${dir} pressure`,
        {
          family: 'pressure',
          data: parsePressure({
            cpu: readFixture(`${dir}/proc/pressure/cpu`),
            memory: readFixture(`${dir}/proc/pressure/memory`),
            io: readFixture(`${dir}/proc/pressure/io`),
          }),
        },
      ],
    )
  }
  samples.push(
    ['live-t0 vmstat', { family: 'vmstat', data: parseVmstat(readFixture('live-t0/proc/vmstat')) }],
    [
      // Filters off and a statfs that fails for every other mount: both shapes of an entry.
      'live-t0 mounts',
      {
        family: 'filesystem',
        data: statFilesystems(parseMounts(readFixture('live-t0/proc/mounts')), {
          mountPointsExclude: null,
          fsTypesExclude: null,
          statfs: (path) => {
            if (path.startsWith('/sys/')) throw new Error(`EACCES: permission denied, statfs '${path}'`)
            return {
              bsize: 4096,
              blocks: 66053021,
              bfree: 62492319,
              bavail: 20314614,
              files: 16777216,
              ffree: 0,
            }
          },
        }),
      },
    ],
  )

  it.each(samples)('%s round-trips through the envelope codec unchanged', (_name, sample) => {
    const [decoded] = codec.decodeAll(codec.encode(envelope(sample)))
    expect(decoded?.sample).toEqual(sample)
  })
})
