// Types of what the unit tests (query-api/src/dashboard-live.test.ts) import from live-series.js.

import type { LiveMessage } from './live.js'

export interface SeriesQuery {
  metric: string
  fn?: 'raw' | 'rate'
  sumBy?: string[]
}
export interface SeriesResponse {
  timestamps: number[]
  series: { labels: Record<string, string>; values: (number | null)[] }[]
  stepMs?: number | null
}

export function ratesFromPoints(
  points: LiveMessage['points'],
  metric: string,
  previous: Map<string, [number, number]>,
): LiveMessage['rates']
export function messageValues(
  message: LiveMessage,
  query: SeriesQuery,
  previous?: Map<string, [number, number]>,
): Map<number, Map<string, { labels: Record<string, string>; value: number }>>
export function createSeriesBuffer(query: SeriesQuery): {
  readonly query: SeriesQuery
  load(response: SeriesResponse): void
  add(message: LiveMessage): boolean
  trim(fromSeconds: number): boolean
  readonly newest: number
  response(): SeriesResponse
}
