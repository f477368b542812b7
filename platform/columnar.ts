/**
 * A batch of rows for one table as columns, in the few shapes the processors write, and the two
 * binary encodings they are handed to ClickHouse in: Arrow C data for embedded chdb (read in place
 * from JS memory by `arrowstream()`), RowBinary over HTTP to a server. No text, no JSON: a value
 * costs a typed-array write here and a memcpy-like read in the engine.
 *
 * 64-bit integers are carried as two 32-bit halves (little-endian words), so neither side needs a
 * BigInt per value.
 */
export type ColumnData =
  /** Few distinct strings, many rows (the tenant of each point): the strings once, an index per row. */
  | { kind: 'dict'; dict: readonly string[]; index: Int32Array }
  | { kind: 'string'; values: readonly string[] }
  /** Unsigned 64-bit: words [lo0, hi0, lo1, hi1, …]. */
  | { kind: 'uint64'; words: Uint32Array }
  /** DateTime64(6) as µs since the epoch, signed 64-bit words like uint64. */
  | { kind: 'micros'; words: Uint32Array }
  | { kind: 'float64'; values: Float64Array }
  | { kind: 'uint32'; values: Uint32Array }
  /** Date as days since the epoch. */
  | { kind: 'date'; values: Int32Array }

export interface Column {
  name: string
  data: ColumnData
}

export interface ColumnarBatch {
  /** `database.table`, both plain identifiers. */
  table: string
  rows: number
  columns: Column[]
}

/** Writes a non-negative safe integer (µs, an offset, a sequence number) as 64-bit words at `i`. */
export function setWords(words: Uint32Array, i: number, n: number): void {
  const hi = Math.floor(n / 0x1_0000_0000)
  words[2 * i] = n - hi * 0x1_0000_0000
  words[2 * i + 1] = hi
}

/** The ClickHouse type each kind is inserted as; a `dict` column is inserted as LowCardinality(String). */
export const CLICKHOUSE_TYPE: Record<ColumnData['kind'], string> = {
  dict: 'String',
  string: 'String',
  uint64: 'UInt64',
  micros: "DateTime64(6, 'UTC')",
  float64: 'Float64',
  uint32: 'UInt32',
  date: 'Date',
}

export function columnLength(data: ColumnData): number {
  switch (data.kind) {
    case 'dict':
      return data.index.length
    case 'string':
      return data.values.length
    case 'uint64':
    case 'micros':
      return data.words.length / 2
    case 'float64':
    case 'uint32':
    case 'date':
      return data.values.length
  }
}

/** Every column as long as the batch says: a short column would be read past its end. */
export function checkBatch(batch: ColumnarBatch): void {
  for (const c of batch.columns) {
    const n = columnLength(c.data)
    if (n !== batch.rows)
      throw new Error(
        `column ${c.name} of ${batch.table} has ${String(n)} rows, the batch ${String(batch.rows)}`,
      )
  }
}

/** One column as the Arrow C data interface descriptor chdb's addon takes. */
export interface ArrowColumn {
  name: string
  format: string
  length: number
  nullCount: number
  buffers: (Buffer | null)[]
}

const view = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength)

function utf8Column(name: string, values: readonly string[]): ArrowColumn {
  const offsets = new Int32Array(values.length + 1)
  let bytes = 0
  for (let i = 0; i < values.length; i++) {
    offsets[i] = bytes
    bytes += Buffer.byteLength(values[i] ?? '', 'utf8')
  }
  offsets[values.length] = bytes
  const data = Buffer.allocUnsafe(bytes)
  let at = 0
  for (const v of values) at += data.write(v, at, 'utf8')
  return { name, format: 'u', length: values.length, nullCount: 0, buffers: [null, view(offsets), data] }
}

/**
 * The Arrow columns of a batch and the SELECT list that turns them into the table's columns: a `dict`
 * column arrives as its int32 index and is looked up in a literal array (the dictionary is the few
 * tenants of a chunk, names the key table admitted), micros as Int64 turned into DateTime64, days
 * into Date.
 */
export function arrowColumns(
  batch: ColumnarBatch,
  quote: (s: string) => string,
): { columns: ArrowColumn[]; select: string[] } {
  checkBatch(batch)
  const columns: ArrowColumn[] = []
  const select: string[] = []
  for (const { name, data } of batch.columns) {
    const n = batch.rows
    switch (data.kind) {
      case 'dict':
        columns.push({ name, format: 'i', length: n, nullCount: 0, buffers: [null, view(data.index)] })
        select.push(`[${data.dict.map(quote).join(', ')}][${name} + 1]`)
        break
      case 'string':
        columns.push(utf8Column(name, data.values))
        select.push(name)
        break
      case 'uint64':
        columns.push({ name, format: 'L', length: n, nullCount: 0, buffers: [null, view(data.words)] })
        select.push(name)
        break
      case 'micros':
        columns.push({ name, format: 'l', length: n, nullCount: 0, buffers: [null, view(data.words)] })
        select.push(`fromUnixTimestamp64Micro(${name}, 'UTC')`)
        break
      case 'float64':
        columns.push({ name, format: 'g', length: n, nullCount: 0, buffers: [null, view(data.values)] })
        select.push(name)
        break
      case 'uint32':
        columns.push({ name, format: 'I', length: n, nullCount: 0, buffers: [null, view(data.values)] })
        select.push(name)
        break
      case 'date':
        columns.push({ name, format: 'i', length: n, nullCount: 0, buffers: [null, view(data.values)] })
        select.push(`toDate('1970-01-01') + ${name}`)
        break
    }
  }
  return { columns, select }
}

/** LEB128, as RowBinary prefixes a string's length. */
function leb128Size(n: number): number {
  let size = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    size++
  }
  return size
}

/**
 * The batch in RowBinary, row by row, in the column order given: what a server takes with
 * `INSERT INTO t (cols) FORMAT RowBinary`. Sized exactly before it is written, one allocation.
 */
export function rowBinary(batch: ColumnarBatch): Buffer {
  checkBatch(batch)
  const encoded = batch.columns.map(({ data }) => {
    if (data.kind === 'dict') return data.dict.map((s) => Buffer.from(s, 'utf8'))
    if (data.kind === 'string') return data.values.map((s) => Buffer.from(s, 'utf8'))
    return undefined
  })
  let size = 0
  batch.columns.forEach(({ data }, c) => {
    switch (data.kind) {
      case 'dict': {
        const lengths = (encoded[c] ?? []).map((b) => b.length + leb128Size(b.length))
        for (const i of data.index) size += lengths[i] ?? 0
        break
      }
      case 'string':
        for (const b of encoded[c] ?? []) size += b.length + leb128Size(b.length)
        break
      case 'uint64':
      case 'micros':
      case 'float64':
        size += 8 * batch.rows
        break
      case 'uint32':
        size += 4 * batch.rows
        break
      case 'date':
        size += 2 * batch.rows
        break
    }
  })
  const out = Buffer.allocUnsafe(size)
  let at = 0
  const putString = (b: Buffer): void => {
    let n = b.length
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80
      n = Math.floor(n / 0x80)
    }
    out[at++] = n
    at += b.copy(out, at)
  }
  for (let r = 0; r < batch.rows; r++) {
    for (let c = 0; c < batch.columns.length; c++) {
      const data = (batch.columns[c] as Column).data
      switch (data.kind) {
        case 'dict':
          putString((encoded[c] as Buffer[])[data.index[r] ?? 0] as Buffer)
          break
        case 'string':
          putString((encoded[c] as Buffer[])[r] as Buffer)
          break
        case 'uint64':
        case 'micros':
          out.writeUInt32LE(data.words[2 * r] ?? 0, at)
          out.writeUInt32LE(data.words[2 * r + 1] ?? 0, at + 4)
          at += 8
          break
        case 'float64':
          out.writeDoubleLE(data.values[r] ?? 0, at)
          at += 8
          break
        case 'uint32':
          out.writeUInt32LE(data.values[r] ?? 0, at)
          at += 4
          break
        case 'date':
          out.writeUInt16LE(data.values[r] ?? 0, at)
          at += 2
          break
      }
    }
  }
  return out
}
