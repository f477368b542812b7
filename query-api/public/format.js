// Human-readable numbers for axes, legends and the status line. Pure functions, no DOM.

const IEC_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB']

/** Up to three significant digits, trailing zeros dropped: 1.5, 12.3, 512. */
function compact(n) {
  const abs = Math.abs(n)
  if (abs === 0) return '0'
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2
  return String(Number(n.toFixed(digits)))
}

/** Bytes in IEC units (memory and IO are page/sector sized, so powers of two read naturally). */
export function formatBytes(n) {
  if (n == null || !Number.isFinite(n)) return '–'
  let value = n
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < IEC_UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${compact(value)} ${IEC_UNITS[unit]}`
}

export function formatBytesPerSecond(n) {
  if (n == null || !Number.isFinite(n)) return '–'
  return `${formatBytes(n)}/s`
}

export function formatPercent(n) {
  if (n == null || !Number.isFinite(n)) return '–'
  return `${compact(n)} %`
}

export function formatNumber(n) {
  if (n == null || !Number.isFinite(n)) return '–'
  return compact(n)
}

/**
 * Axis tick steps in powers of two times a power of 1024, so byte axes land on 256 MiB, 1 GiB, 2 GiB …
 * instead of uPlot's decimal steps that would print as 1.86 GiB.
 */
export const BYTE_INCREMENTS = (() => {
  const incrs = []
  for (let k = 0; k < IEC_UNITS.length - 1; k++) {
    for (let m = 1; m <= 512; m *= 2) incrs.push(m * 1024 ** k)
  }
  return incrs
})()

/** "3 s ago", "4 min ago", "2 h ago", "5 d ago" for a last-seen timestamp. */
export function formatAgo(thenMs, nowMs) {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000))
  if (s < 60) return `${s} s ago`
  const min = Math.round(s / 60)
  if (min < 60) return `${min} min ago`
  const h = Math.round(min / 60)
  if (h < 48) return `${h} h ago`
  return `${Math.round(h / 24)} d ago`
}

const clock = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
})

export function formatClock(ms) {
  return clock.format(new Date(ms))
}

/** Looks up the formatter for a chart's unit name. */
export function formatterFor(unit) {
  switch (unit) {
    case 'percent':
      return formatPercent
    case 'bytes':
      return formatBytes
    case 'bytesPerSecond':
      return formatBytesPerSecond
    default:
      return formatNumber
  }
}
