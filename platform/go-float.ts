/**
 * A float64 as node_exporter prints it: client_golang's text encoder writes
 * strconv.FormatFloat(v, 'g', -1, 64), i.e. the shortest digits that read back to the same value,
 * in exponent form when the decimal exponent is below -4 or at least 6 (Go's strconv/ftoa.go uses
 * 6, not the digit count, for the shortest precision), with at least two exponent digits:
 * 1234567 → "1.234567e+06", 123456 → "123456", 0.0001 → "0.0001", 0.00001 → "1e-05".
 * Infinities and NaN are spelled as the exposition format wants them.
 */
export function formatGoFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  // Also catches -0, which the Go encoder prints as "0" (it compares f == 0 first).
  if (value === 0) return '0'

  // toExponential() without an argument yields the shortest round-trip digits, like Go's -1 precision.
  const exponential = value.toExponential()
  const e = exponential.indexOf('e')
  const mantissa = exponential.slice(0, e)
  const exponent = Number(exponential.slice(e + 1))
  const negative = mantissa.startsWith('-')

  if (exponent < -4 || exponent >= 6) {
    const magnitude = Math.abs(exponent)
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${magnitude < 10 ? '0' : ''}${magnitude}`
  }
  const digits = mantissa.replace('-', '').replace('.', '')
  let fixed: string
  if (exponent < 0) {
    fixed = `0.${'0'.repeat(-exponent - 1)}${digits}`
  } else if (digits.length > exponent + 1) {
    fixed = `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`
  } else {
    fixed = digits.padEnd(exponent + 1, '0')
  }
  return negative ? `-${fixed}` : fixed
}
