import { describe, expect, it } from 'vitest'
import { EnvelopeCodec } from '../../../schemas/src/codec.ts'
import type { Envelope, Sample } from '../../../schemas/src/families.ts'
import { readFixture } from './__fixtures__/fixtures.ts'
import { parseDiskstats } from './diskstats.ts'
import { parseLoadavg } from './loadavg.ts'
import { parseMeminfo } from './meminfo.ts'
import { parseNetDev } from './netdev.ts'
import { parseStat } from './stat.ts'

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
    )
  }

  it.each(samples)('%s round-trips through the envelope codec unchanged', (_name, sample) => {
    const [decoded] = codec.decodeAll(codec.encode(envelope(sample)))
    expect(decoded?.sample).toEqual(sample)
  })
})
