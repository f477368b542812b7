import { ConfigError } from './errors.ts'

/**
 * Environment-driven configuration, validated once at start-up. Every reader records a problem
 * instead of throwing, so an operator sees every bad value in one message, then the result is frozen.
 */
export type Env = Readonly<Record<string, string | undefined>>

export class ConfigReader {
  private readonly problems: string[] = []

  constructor(private readonly env: Env = process.env) {}

  private raw(name: string): string | undefined {
    const v = this.env[name]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }

  string(name: string, fallback: string): string
  string(name: string): string | undefined
  string(name: string, fallback?: string): string | undefined {
    return this.raw(name) ?? fallback
  }

  requiredString(name: string): string {
    const v = this.raw(name)
    if (v === undefined) this.problems.push(`${name} is required but not set`)
    return v ?? ''
  }

  int(name: string, fallback: number, bounds: { min?: number; max?: number } = {}): number {
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

  port(name: string, fallback: number): number {
    return this.int(name, fallback, { min: 1, max: 65535 })
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name)
    if (v === undefined) return fallback
    if (/^(1|true|yes|on)$/i.test(v)) return true
    if (/^(0|false|no|off)$/i.test(v)) return false
    this.problems.push(`${name}=${JSON.stringify(v)} is not a boolean (use true/false)`)
    return fallback
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
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
