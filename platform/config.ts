import { ConfigError } from './errors.ts'

/**
 * Environment-driven configuration, validated once at start-up. Every reader records a problem
 * instead of throwing, so an operator sees every bad value in one message, then the result is frozen.
 *
 * Each setting is declared once, as a `Setting` in its component's config.ts (variable, type,
 * default, bounds, one-line meaning; the agent adds its flag): the reader reads the declaration
 * (`r.int(SETTINGS.x)`), the agent's `--help` is printed from it, a component's DEFAULTS (for
 * callers that build a server without a config) are derived from it, and
 * deploy/__tests__/settings.test.ts checks deploy/CONFIGURATION.md's rows against it. The docs are
 * checked rather than generated so that they stay prose an operator reads: the table says more
 * than a declaration holds (roles, why a bound is what it is).
 * Settings whose value needs its own parser (lists, URLs, addresses, expressions) are `custom`:
 * declared all the same, read by the helper that understands them.
 */
export type Env = Readonly<Record<string, string | undefined>>

interface SettingBase {
  /** The environment variable. */
  env: string
  /** One line; `{default}`, `{min}` and `{max}` are filled in from the declaration where it is printed. */
  meaning: string
}
export interface IntSetting extends SettingBase {
  type: 'int'
  default: number
  min?: number
  max?: number
}
export interface PortSetting extends SettingBase {
  type: 'port'
  default: number
}
export interface StringSetting extends SettingBase {
  type: 'string'
  default?: string
}
export interface BoolSetting extends SettingBase {
  type: 'bool'
  default: boolean
}
export interface OneOfSetting<T extends string = string> extends SettingBase {
  type: 'oneOf'
  values: readonly T[]
  default: T
}
export interface CustomSetting extends SettingBase {
  type: 'custom'
  /** As the docs state it, when there is one value to state. */
  default?: string | number
}
export type Setting = IntSetting | PortSetting | StringSetting | BoolSetting | OneOfSetting | CustomSetting

const PORT_BOUNDS = { min: 1, max: 65535 }

/** A declaration's bounds, ports included, for the docs check and help text. */
export function settingBounds(s: Setting): { min?: number; max?: number } {
  if (s.type === 'port') return PORT_BOUNDS
  if (s.type === 'int') return { min: s.min, max: s.max }
  return {}
}

/** The meaning with its `{default}`, `{min}` and `{max}` filled in. */
export function settingMeaning(s: Setting): string {
  const { min, max } = settingBounds(s)
  return s.meaning
    .replaceAll('{default}', String(s.default ?? ''))
    .replaceAll('{min}', String(min ?? ''))
    .replaceAll('{max}', String(max ?? ''))
}

/** The declared defaults by key, for a component's DEFAULTS. */
export function settingDefaults<S extends Record<string, Setting>>(
  settings: S,
): { readonly [K in keyof S]: S[K] extends { default: infer D } ? D : undefined } {
  return Object.freeze(Object.fromEntries(Object.entries(settings).map(([k, s]) => [k, s.default]))) as {
    readonly [K in keyof S]: S[K] extends { default: infer D } ? D : undefined
  }
}

export class ConfigReader {
  private readonly problems: string[] = []

  constructor(private readonly env: Env = process.env) {}

  private raw(name: string): string | undefined {
    const v = this.env[name]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }

  string(setting: StringSetting & { default: string }): string
  string(name: string, fallback: string): string
  string(nameOrSetting: string | StringSetting): string | undefined
  string(name: string | StringSetting, fallback?: string): string | undefined {
    if (typeof name !== 'string') return this.raw(name.env) ?? name.default
    return this.raw(name) ?? fallback
  }

  requiredString(name: string): string {
    const v = this.raw(name)
    if (v === undefined) this.problems.push(`${name} is required but not set`)
    return v ?? ''
  }

  int(setting: IntSetting): number
  int(name: string, fallback: number, bounds?: { min?: number; max?: number }): number
  int(
    nameOrSetting: string | IntSetting,
    fallbackArg?: number,
    boundsArg: { min?: number; max?: number } = {},
  ): number {
    const [name, fallback, bounds] =
      typeof nameOrSetting === 'string'
        ? [nameOrSetting, fallbackArg ?? 0, boundsArg]
        : [nameOrSetting.env, nameOrSetting.default, nameOrSetting]
    const v = this.raw(name)
    if (v === undefined) return fallback
    if (!/^-?\d+$/.test(v)) {
      this.problems.push(`${name}=${JSON.stringify(v)} is not a whole number`)
      return fallback
    }
    const n = Number(v)
    if (bounds.min !== undefined && n < bounds.min)
      this.problems.push(`${name}=${n} is below the minimum ${bounds.min}`)
    if (bounds.max !== undefined && n > bounds.max)
      this.problems.push(`${name}=${n} is above the maximum ${bounds.max}`)
    return n
  }

  port(setting: PortSetting): number
  port(name: string, fallback: number): number
  port(name: string | PortSetting, fallback?: number): number {
    if (typeof name !== 'string') return this.int(name.env, name.default, PORT_BOUNDS)
    return this.int(name, fallback ?? 0, PORT_BOUNDS)
  }

  bool(setting: BoolSetting): boolean
  bool(name: string, fallback: boolean): boolean
  bool(nameOrSetting: string | BoolSetting, fallbackArg?: boolean): boolean {
    const [name, fallback] =
      typeof nameOrSetting === 'string'
        ? [nameOrSetting, fallbackArg ?? false]
        : [nameOrSetting.env, nameOrSetting.default]
    const v = this.raw(name)
    if (v === undefined) return fallback
    if (/^(1|true|yes|on)$/i.test(v)) return true
    if (/^(0|false|no|off)$/i.test(v)) return false
    this.problems.push(`${name}=${JSON.stringify(v)} is not a boolean (use true/false)`)
    return fallback
  }

  oneOf<T extends string>(setting: OneOfSetting<T>, fallback?: T): T
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T
  oneOf<T extends string>(
    nameOrSetting: string | OneOfSetting<T>,
    allowedOrFallback?: readonly T[] | T,
    fallbackArg?: T,
  ): T {
    // A declaration's default can depend on other settings (the agent's format on --once): the
    // caller may pass the one in force.
    const [name, allowed, fallback] =
      typeof nameOrSetting === 'string'
        ? [nameOrSetting, allowedOrFallback as readonly T[], fallbackArg as T]
        : [
            nameOrSetting.env,
            nameOrSetting.values,
            (allowedOrFallback as T | undefined) ?? nameOrSetting.default,
          ]
    const v = this.raw(name)
    if (v === undefined) return fallback
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${name}=${JSON.stringify(v)} is not one of ${allowed.join(', ')}`)
      return fallback
    }
    return v as T
  }

  /** A comma-separated list of host:port pairs, e.g. KAFKA_BROKERS. */
  hostPorts(name: string): string[] | undefined {
    const v = this.raw(name)
    if (v === undefined) return undefined
    const items = v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
    for (const item of items) {
      if (!/^[^\s:]+:\d{1,5}$/.test(item))
        this.problems.push(`${name} entry ${JSON.stringify(item)} is not host:port`)
    }
    if (items.length === 0) this.problems.push(`${name} is set but lists no host:port`)
    return items
  }

  /**
   * Where to listen, `host:port` (port 0: any free port), or `off` for not at all. IPv6 hosts go in
   * brackets, `[::1]:9464`.
   */
  listenAddress(name: string, fallback: string): { host: string; port: number } | undefined {
    const v = this.raw(name) ?? fallback
    if (/^(off|none|false)$/i.test(v)) return undefined
    const m = /^(?:\[([^\]]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(v)
    const port = Number(m?.[3])
    const host = m?.[1] ?? m?.[2]
    if (host === undefined || port > 65535) {
      this.problems.push(`${name}=${JSON.stringify(v)} is not host:port (or off)`)
      return undefined
    }
    return { host, port }
  }

  /** A regular expression, compiled here so a typo is reported at start-up, not on first use. */
  regex(name: string, fallback: RegExp): RegExp {
    const v = this.raw(name)
    if (v === undefined) return fallback
    try {
      return new RegExp(v)
    } catch (err) {
      this.problems.push(`${name}=${JSON.stringify(v)} is not a valid regular expression: ${String(err)}`)
      return fallback
    }
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const v = this.raw(name)
    if (v === undefined) return undefined
    try {
      const u = new URL(v)
      if (!protocols.includes(u.protocol)) {
        this.problems.push(`${name}=${JSON.stringify(redactUrl(v))} must use ${protocols.join(' or ')}`)
      }
    } catch {
      this.problems.push(`${name}=${JSON.stringify(redactUrl(v))} is not a valid URL`)
    }
    return v
  }

  /** Record a cross-field problem found by the caller. */
  problem(message: string): void {
    this.problems.push(message)
  }

  /** Throw one ConfigError naming every problem, or return the value frozen. */
  done<T extends object>(value: T): Readonly<T> {
    if (this.problems.length > 0) throw new ConfigError(this.problems)
    return Object.freeze(value)
  }
}

/** Hide credentials embedded in a URL before it reaches a message or a log. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^/@:]*):([^/@]*)@/, '//$1:***@')
}
