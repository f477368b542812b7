import { samplePoints } from '#schemas/src/node-exporter.ts'
import type { Sample } from '#schemas/src/families.ts'

/**
 * A host's samples as VictoriaMetrics import bodies, through the same node_exporter mapping the
 * processor stores (samplePoints), with the host as the `host` label, as the processor keys series.
 *
 * - `prometheus`: text exposition lines with a millisecond timestamp, for /api/v1/import/prometheus;
 * - `jsonl`: one JSON line per series, for /api/v1/import (VictoriaMetrics' own export format).
 */
export type ImportFormat = 'prometheus' | 'jsonl'

export const IMPORT_PATH: Record<ImportFormat, string> = {
  prometheus: '/api/v1/import/prometheus',
  jsonl: '/api/v1/import',
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/**
 * A request body written straight into one growing buffer: building it as a JavaScript string and
 * encoding that cost the feed more CPU per value than VictoriaMetrics spends storing it.
 */
export class BodyWriter {
  private buf = Buffer.allocUnsafe(1 << 20)
  length = 0

  reserve(bytes: number): void {
    if (this.length + bytes <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + bytes))
    this.buf.copy(next, 0, 0, this.length)
    this.buf = next
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length)
    // TypedArray#set, not Buffer#copy: a call into C++ per 60-byte prefix cost more than the copy.
    this.buf.set(b, this.length)
    this.length += b.length
  }

  /** An ASCII string (a number's digits): one byte per character. */
  ascii(s: string): void {
    this.reserve(s.length)
    const buf = this.buf
    let at = this.length
    for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i)
    this.length = at
  }

  /** The body so far, handed over without a copy; the writer starts again on a new buffer. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.length)
    this.buf = Buffer.allocUnsafe(this.buf.length)
    this.length = 0
    return out
  }
}

/** What follows each value of a slot: the slot's timestamp, in the format's syntax. */
export function valueSuffix(format: ImportFormat, tsMs: number): Buffer {
  return Buffer.from(format === 'prometheus' ? ` ${String(tsMs)}\n` : `],"timestamps":[${String(tsMs)}]}\n`)
}

/**
 * One host's series, the name-and-labels prefix of each built once: a simulated host's records keep
 * their shape from tick to tick (only values move), so per value only the number is formatted. A
 * series whose name at a position differs from the last tick's gets its prefix rebuilt.
 */
export class HostSeriesText {
  private readonly names: string[] = []
  private readonly prefixes: Buffer[] = []

  constructor(
    private readonly host: string,
    private readonly format: ImportFormat,
  ) {}

  /** Writes the host's values, each followed by `suffix`; returns how many it wrote. */
  render(samples: readonly Sample[], suffix: Buffer, out: BodyWriter): number {
    let i = 0
    const emit = (name: string, labels: Readonly<Record<string, string>>, value: number): void => {
      if (this.names[i] !== name) {
        this.names[i] = name
        this.prefixes[i] = Buffer.from(this.prefix(name, labels))
      }
      out.bytes(this.prefixes[i] as Buffer)
      out.ascii(String(value))
      out.bytes(suffix)
      i++
    }
    for (const s of samples) samplePoints(s, emit)
    return i
  }

  private prefix(name: string, labels: Readonly<Record<string, string>>): string {
    // An empty label is no label, in Prometheus and in the processor's canonical labels alike.
    const pairs = Object.entries({ ...labels, host: this.host }).filter(([, v]) => v !== '')
    if (this.format === 'jsonl')
      return `{"metric":${JSON.stringify({ __name__: name, ...Object.fromEntries(pairs) })},"values":[`
    return `${name}{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}} `
  }
}
