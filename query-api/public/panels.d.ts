// Types of what the unit tests (query-api/src/dashboard-live.test.ts) import from panels.js.

import type { SeriesQuery, SeriesResponse } from './live-series.js'

export interface Frame {
  timestamps: number[]
  series: { name: string; key?: string; values: (number | null)[] }[]
}
export const PANELS: {
  id: string
  title: string
  queries: SeriesQuery[]
  build(responses: SeriesResponse[], options: { includeVirtual: boolean }): Frame
}[]
