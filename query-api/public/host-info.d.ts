// Types of what the query API's reports import from host-info.js (query-api/src/report/collect.ts),
// so the header's facts are derived by one piece of code for the dashboard and the reports.

export interface InfoResponse {
  series: { labels: Record<string, string>; values: (number | null)[] }[]
}

export interface HostFact {
  id: string
  term: string
  value: string
}

export const INFO_METRICS: string[]
export const INFO_LOOKBACK_MS: number
export function hostFacts(responses: {
  uname?: InfoResponse | null
  os?: InfoResponse | null
  cpu?: InfoResponse | null
  dmi?: InfoResponse | null
}): HostFact[]
export function currentLabels(response: InfoResponse): Record<string, string>[]
