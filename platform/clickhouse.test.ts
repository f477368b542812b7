import { describe, expect, it } from 'vitest'
import { readClickHouseConfig } from './clickhouse.ts'
import { ConfigReader, type Env } from './config.ts'
import { ConfigError } from './errors.ts'

function read(env: Env): ReturnType<typeof readClickHouseConfig> {
  const r = new ConfigReader(env)
  return r.done(readClickHouseConfig(r, '/data'))
}

function problems(env: Env): readonly string[] {
  try {
    read(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

const SERVER = { CLICKHOUSE_URL: 'http://ch:8123' }

describe('readClickHouseConfig schema profile', () => {
  it('defaults to the single profile, with no cluster', () => {
    const c = read({})
    expect(c.profile).toBe('single')
    expect(c.cluster).toBeUndefined()
    expect(read({ ...SERVER, CLICKHOUSE_PROFILE: 'single' })).toMatchObject({
      profile: 'single',
      url: SERVER.CLICKHOUSE_URL,
    })
  })

  it('reads the cluster profile with its cluster name', () => {
    expect(read({ ...SERVER, CLICKHOUSE_PROFILE: 'cluster', CLICKHOUSE_CLUSTER: 'metrics-1' })).toMatchObject(
      {
        profile: 'cluster',
        cluster: 'metrics-1',
      },
    )
    expect(read({ ...SERVER, CLICKHOUSE_PROFILE: 'cluster', CLICKHOUSE_CLUSTER: '{cluster}' }).cluster).toBe(
      '{cluster}',
    )
  })

  it('names CLICKHOUSE_CLUSTER when the cluster profile lacks it or gets an unusable one', () => {
    expect(problems({ ...SERVER, CLICKHOUSE_PROFILE: 'cluster' })).toEqual([
      expect.stringMatching(/^CLICKHOUSE_CLUSTER is required with CLICKHOUSE_PROFILE=cluster/),
    ])
    expect(problems({ ...SERVER, CLICKHOUSE_PROFILE: 'cluster', CLICKHOUSE_CLUSTER: "a'b" })).toEqual([
      `CLICKHOUSE_CLUSTER="a'b" is not a cluster name`,
    ])
  })

  it('refuses the cluster profile on embedded chdb, an unknown profile, and a cluster without its profile', () => {
    expect(problems({ CLICKHOUSE_PROFILE: 'cluster', CLICKHOUSE_CLUSTER: 'c' })).toEqual([
      'CLICKHOUSE_PROFILE=cluster needs CLICKHOUSE_URL: embedded chdb is one node',
    ])
    expect(problems({ CLICKHOUSE_PROFILE: 'sharded' })).toEqual([
      'CLICKHOUSE_PROFILE="sharded" is not one of single, cluster',
    ])
    expect(problems({ ...SERVER, CLICKHOUSE_CLUSTER: 'c' })).toEqual([
      'CLICKHOUSE_CLUSTER is set but CLICKHOUSE_PROFILE is not cluster',
    ])
  })
})
