// Sparklines drawn straight onto a small canvas: a fleet of thousands of hosts cannot afford a uPlot
// instance per row, and a sparkline needs no axes, cursor or legend.

/**
 * @param {HTMLCanvasElement} canvas
 * @param {(number|null)[]} values one per step; null is a gap, never a zero
 * @param {{ color: string, width: number, height: number, max?: number }} options `max` fixes the top
 *   of the scale (100 for percentages); without it the row's own maximum is the top
 */
export function drawSparkline(canvas, values, { color, width, height, max }) {
  const ratio = window.devicePixelRatio || 1
  const w = Math.max(1, Math.round(width * ratio))
  const h = Math.max(1, Math.round(height * ratio))
  if (canvas.width !== w) canvas.width = w
  if (canvas.height !== h) canvas.height = h
  const ctx = canvas.getContext('2d')
  if (!ctx) return
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0)
  ctx.clearRect(0, 0, width, height)

  const n = values.length
  if (n === 0) return
  let top = max ?? 0
  if (max == null) for (const v of values) if (v != null && v > top) top = v
  // A flat zero line still reads as "idle", so give an all-zero row a scale instead of dividing by 0.
  if (!(top > 0)) top = 1
  const pad = 1.5
  const x = (i) => (n === 1 ? width / 2 : (i / (n - 1)) * (width - 2 * pad) + pad)
  const y = (v) => height - pad - (Math.min(Math.max(v, 0), top) / top) * (height - 2 * pad)

  ctx.lineWidth = 1.25
  ctx.lineJoin = 'round'
  ctx.strokeStyle = color
  ctx.fillStyle = color
  // Each run of consecutive values is one filled shape, so a gap in the data is a gap on screen.
  let start = -1
  for (let i = 0; i <= n; i++) {
    const v = i < n ? values[i] : null
    if (v != null && start < 0) start = i
    if (v == null && start >= 0) {
      drawRun(ctx, values, start, i - 1, x, y, height)
      start = -1
    }
  }
}

function drawRun(ctx, values, from, to, x, y, height) {
  if (from === to) {
    ctx.beginPath()
    ctx.arc(x(from), y(values[from]), 1.5, 0, 2 * Math.PI)
    ctx.fill()
    return
  }
  ctx.beginPath()
  ctx.moveTo(x(from), y(values[from]))
  for (let i = from + 1; i <= to; i++) ctx.lineTo(x(i), y(values[i]))
  ctx.globalAlpha = 1
  ctx.stroke()
  ctx.lineTo(x(to), height)
  ctx.lineTo(x(from), height)
  ctx.closePath()
  ctx.globalAlpha = 0.22
  ctx.fill()
  ctx.globalAlpha = 1
}
