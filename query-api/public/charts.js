// uPlot wrapper: builds options from a frame and a chart spec, keeps the chart sized to its container,
// and shows an empty-state message when there is nothing to draw.

import uPlot from './vendor/uPlot.esm.js'
import { BYTE_INCREMENTS, formatterFor } from './format.js'
import { hasData, stack } from './transform.js'

// Tableau 10: distinguishable on light and dark backgrounds alike.
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
]

const CURSOR_SYNC_KEY = 'procstream-host'

/**
 * @typedef {object} ChartSpec
 * @property {'percent'|'bytes'|'bytesPerSecond'|'number'} unit
 * @property {number} height plot height in CSS pixels (the legend comes on top of it)
 * @property {boolean} [stacked] draw series as stacked areas
 * @property {boolean} [mirrored] series flagged `mirrored` are drawn below zero; axis shows magnitudes
 * @property {[number, number]} [fixedRange] y range that never changes (CPU %)
 * @property {Record<string, string>} [colors] colour per series key; others come from PALETTE
 */

/**
 * @param {HTMLElement} host element the chart fills (its width drives the chart width)
 * @param {ChartSpec} spec
 */
export function createChart(host, spec) {
  const canvasBox = document.createElement('div')
  canvasBox.className = 'chart-canvas'
  const overlay = document.createElement('div')
  overlay.className = 'chart-empty'
  host.append(canvasBox, overlay)
  host.style.minHeight = `${spec.height}px`

  let plot = null
  let signature = ''
  let frame = { timestamps: [], series: [] }
  const format = formatterFor(spec.unit)

  const resizer = new ResizeObserver(() => {
    if (plot && width() > 0 && width() !== plot.width) plot.setSize({ width: width(), height: spec.height })
  })
  resizer.observe(host)

  function width() {
    return Math.floor(host.clientWidth)
  }

  /** Legend text: the hovered point, or the newest known value when the cursor is elsewhere. */
  function legendValue(_u, _raw, seriesIdx, idx) {
    const s = frame.series[seriesIdx - 1]
    if (!s) return '–'
    let v = idx == null ? lastValue(s.values) : s.values[idx]
    if (v != null && s.mirrored) v = -v
    return format(v)
  }

  function build() {
    plot?.destroy()
    canvasBox.replaceChildren()
    const theme = readTheme()
    const colorOf = colorAssigner(spec.colors)
    const series = [
      {
        // With the cursor off the chart the legend shows the newest point, so it reads as "now".
        // The newest step with data, not the grid's last step, which is often still empty: it shows
        // when the values beside it were measured.
        value: (_u, ts) => {
          const t = ts ?? newestTimestamp(frame)
          return t == null ? '–' : new Date(t * 1000).toLocaleTimeString()
        },
      },
      ...frame.series.map((s) => {
        const color = colorOf(s.key ?? s.name)
        return {
          label: s.name,
          stroke: color,
          width: 1.5,
          fill: spec.stacked ? withAlpha(color, 0.45) : undefined,
          dash: s.mirrored || s.dashed ? [5, 3] : undefined,
          points: { show: false },
          value: legendValue,
        }
      }),
    ]
    const bands = spec.stacked
      ? frame.series.slice(1).map((_s, i) => ({ series: [i + 2, i + 1], fill: series[i + 2].fill }))
      : undefined
    const axis = {
      stroke: theme.axis,
      grid: { stroke: theme.grid, width: 1 },
      ticks: { stroke: theme.grid, width: 1 },
    }

    plot = new uPlot(
      {
        width: width(),
        height: spec.height,
        series,
        bands,
        cursor: { sync: { key: CURSOR_SYNC_KEY }, points: { size: 5 } },
        legend: { live: true },
        scales: { x: { time: true }, y: { range: (_u, min, max) => yRange(spec, min, max) } },
        axes: [
          axis,
          {
            ...axis,
            size: 76,
            incrs: spec.unit === 'bytes' || spec.unit === 'bytesPerSecond' ? BYTE_INCREMENTS : undefined,
            values: (_u, splits) => splits.map((v) => format(spec.mirrored ? Math.abs(v) : v)),
          },
        ],
      },
      plotData(),
      canvasBox,
    )
  }

  function plotData() {
    const columns = frame.series.map((s) => s.values)
    return [frame.timestamps, ...(spec.stacked ? stack(columns) : columns)]
  }

  return {
    /** Width in px the chart draws at, to ask the API for about one point per pixel. */
    width,

    /** @param {{ timestamps: number[], series: { name: string, key?: string, mirrored?: boolean, dashed?: boolean, values: (number|null)[] }[] }} next */
    update(next) {
      frame = next
      const nextSignature = next.series.map((s) => s.name).join('\u0000')
      const empty = !hasData(next)
      overlay.textContent = empty ? 'waiting for the first samples…' : ''
      overlay.hidden = !empty
      if (!plot || nextSignature !== signature) {
        signature = nextSignature
        build()
      } else {
        plot.setData(plotData())
      }
      // The newest instant drawn, in ms: what the live tests read to time a sample to the screen.
      const newest = newestTimestamp(next)
      if (newest == null) delete host.dataset.newestTs
      else host.dataset.newestTs = String(Math.round(newest * 1000))
    },

    /** Drops the chart and shows `message` instead (host changed, nothing loaded yet). */
    reset(message) {
      plot?.destroy()
      plot = null
      signature = ''
      frame = { timestamps: [], series: [] }
      delete host.dataset.newestTs
      canvasBox.replaceChildren()
      overlay.textContent = message
      overlay.hidden = false
    },

    /** Rebuilds with the current theme colours. */
    restyle() {
      if (plot) build()
    },

    destroy() {
      resizer.disconnect()
      plot?.destroy()
      plot = null
    },
  }
}

function yRange(spec, min, max) {
  if (spec.fixedRange) return spec.fixedRange
  if (min == null || max == null) return [0, 1]
  if (spec.mirrored) {
    const m = Math.max(Math.abs(min), Math.abs(max)) || 1
    return [-m * 1.05, m * 1.05]
  }
  // Counters, bytes and load start at zero: an axis that floats with the data exaggerates noise.
  const top = max > 0 ? max * 1.05 : 1
  return [Math.min(0, min), top]
}

function newestTimestamp(frame) {
  for (let i = frame.timestamps.length - 1; i >= 0; i--) {
    if (frame.series.some((s) => s.values[i] != null)) return frame.timestamps[i]
  }
  return null
}

function lastValue(values) {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] != null) return values[i]
  return null
}

function colorAssigner(fixed = {}) {
  const assigned = new Map()
  return (key) => {
    if (fixed[key]) return fixed[key]
    if (!assigned.has(key)) assigned.set(key, PALETTE[assigned.size % PALETTE.length])
    return assigned.get(key)
  }
}

function withAlpha(hex, alpha) {
  const a = Math.round(alpha * 255)
    .toString(16)
    .padStart(2, '0')
  return `${hex}${a}`
}

/** Axis and grid colours come from CSS custom properties so the charts follow the page theme. */
function readTheme() {
  const style = window.getComputedStyle(document.documentElement)
  return {
    axis: style.getPropertyValue('--chart-axis').trim() || '#555',
    grid: style.getPropertyValue('--chart-grid').trim() || '#e5e5e5',
  }
}
