import { ConfigReader, type Env } from '../../platform/config.ts'

export interface QueryApiConfig {
  host: string
  port: number
  /** The all-in-one installation's key; maps to the tenant `localTenant`. */
  localKey: string
  localTenant: string
  /** Most points one series may return. */
  maxPoints: number
}

export function readQueryApiConfig(
  env: Env,
  overrides: { localKey?: string } = {},
): Readonly<QueryApiConfig> {
  const r = new ConfigReader(env)
  const localKey = overrides.localKey ?? r.requiredString('PROCSTREAM_LOCAL_KEY')
  if (localKey.length > 0 && localKey.length < 16)
    r.problem('PROCSTREAM_LOCAL_KEY must be at least 16 characters')
  return r.done({
    host: r.string('HOST', '127.0.0.1'),
    port: r.port('PORT', 8080),
    localKey,
    localTenant: r.string('PROCSTREAM_LOCAL_TENANT', 'local'),
    maxPoints: r.int('QUERY_MAX_POINTS', 11_000, { min: 10, max: 100_000 }),
  })
}
